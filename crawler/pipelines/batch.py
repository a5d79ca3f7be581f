"""The batch pipeline: classify → evidence → store, a batch at a time, off the crawl's thread.

Items are buffered and handed over in batches of ``SCAMRADAR_STORE_BATCH`` (also every
``SCAMRADAR_STORE_FLUSH_SECONDS`` when some are waiting, and when the spider closes) to a
:class:`BatchProcessor`, which runs the three stages in order on the whole batch:
:class:`~crawler.pipelines.classify.Classifier` (rule engine, indicators),
:class:`~crawler.pipelines.evidence.EvidenceWriter` (WARC records),
:class:`~crawler.pipelines.store.BatchWriter` (one database transaction).

By default the processor lives in one worker process of its own (spawned when the spider opens,
with its own database engine and the run's WARC file), so the rule engine, gzip and the database
use a second CPU while the reactor keeps downloading and parsing: that is what keeps a full crawl
near a bare spider's throughput (``scamradar bench crawl``). On a one-CPU machine, or with
``SCAMRADAR_PIPELINE_PROCESS=0``, it runs in a thread of the crawl process instead. One batch is
processed at a time, in order; when another is already waiting the pipeline waits (back-pressure, so
memory stays flat).

The rules are loaded in the crawl process too, when it starts, so that broken rule data stops the
crawl before its first request, with the file and line.

A batch that cannot be processed is logged with its traceback and counted (``storage/errors``,
``storage/items_lost``): the run then ends ``failed``. The stages' counters (``rules/…``,
``indicators/found``, ``evidence/…``, ``storage/…``) are added to the crawl's stats, with
``storage/batches`` and ``pipeline/backpressure_seconds`` (time the crawl waited for the stages:
when it grows, the stages are the bottleneck); with a worker process, ``pipeline/worker_pid`` and
``pipeline/worker_startup_cpu_seconds`` (what starting it cost: interpreter, imports, rules).

Settings read: ``SCAMRADAR_STORE_BATCH`` (100), ``SCAMRADAR_STORE_FLUSH_SECONDS`` (5),
``SCAMRADAR_PIPELINE_PROCESS`` (default on when the machine has 2+ CPUs), ``SCAMRADAR_RULES_DIR``,
and, through the crawl context, ``SCAMRADAR_DATABASE_URL`` and ``SCAMRADAR_EVIDENCE_DIR``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.context import crawl_context
from crawler.evidence import WarcStore, run_file_name
from crawler.items import AdItem
from crawler.pipelines.classify import Classifier
from crawler.pipelines.evidence import EvidenceWriter
from crawler.pipelines.store import BatchWriter

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
MAX_WAITING_BATCHES = 1


@dataclass(frozen=True)
class WorkerConfig:
    """What a batch processor needs to know about the run (picklable)."""

    database_url: str
    evidence_dir: str
    warc_path: str
    source_id: int
    run_id: int
    ruleset: str
    rules_dir: str | None = None
    warc_info: dict[str, str] = field(default_factory=dict)


class BatchProcessor:
    """classify → evidence → store for one batch at a time."""

    def __init__(self, config: WorkerConfig, classifier: Classifier | None = None):
        from storage.db import make_engine, session_factory

        self.engine = make_engine(config.database_url)
        self.classifier = classifier or Classifier(config.rules_dir)
        self.warc = WarcStore(Path(config.evidence_dir), config.warc_path, info=config.warc_info)
        self.evidence = EvidenceWriter(self.warc)
        self.store = BatchWriter(
            session_factory(self.engine),
            config.source_id,
            config.run_id,
            config.ruleset,
            self.warc,
        )

    def process(self, batch: list[AdItem]) -> tuple[Counter[str], list[str]]:
        """The batch's counters and the errors to report (items the engine failed on)."""
        counts: Counter[str] = Counter()
        errors: list[str] = []
        for item in batch:
            self.classifier.classify(item, counts, errors)
            self.evidence.write(item, counts)
        counts.update(self.store.write(batch))
        counts["storage/batches"] += 1
        return counts, errors

    def close(self) -> None:
        self.warc.close()
        self.engine.dispose()


# --------------------------------------------------------------------------- worker process

_PROCESSOR: BatchProcessor | None = None


def _worker_init(config: WorkerConfig) -> None:
    global _PROCESSOR
    # Ctrl-C and SIGTERM reach the whole process group: the crawl process decides when to stop
    # and closes the worker after the last batch; a killed crawl leaves the worker at EOF.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _PROCESSOR = BatchProcessor(config)
    gc.freeze()  # the rule data lives as long as the process: keep it out of every GC pass


def _worker_ready() -> tuple[int, float]:
    """The worker's pid and the CPU seconds its start-up took (interpreter, imports, rules)."""
    return os.getpid(), time.process_time()


def _worker_process(batch: list[AdItem]) -> tuple[Counter[str], list[str]]:
    assert _PROCESSOR is not None
    return _PROCESSOR.process(batch)


def _worker_close() -> None:
    if _PROCESSOR is not None:
        _PROCESSOR.close()


# --------------------------------------------------------------------------- the Scrapy component


class BatchPipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.batch_size = max(1, settings.getint("SCAMRADAR_STORE_BATCH", 100))
        self.flush_seconds = settings.getfloat("SCAMRADAR_STORE_FLUSH_SECONDS", 5.0)
        use_process = settings.get("SCAMRADAR_PIPELINE_PROCESS")
        if use_process is None or str(use_process).strip().lower() in ("", "auto", "-1"):
            self.use_process = (os.cpu_count() or 1) >= 2
        else:
            self.use_process = settings.getbool("SCAMRADAR_PIPELINE_PROCESS")
        self.rules_dir: str | None = settings.get("SCAMRADAR_RULES_DIR") or None
        self.classifier = Classifier(self.rules_dir)  # fail fast on broken rule data
        if self.classifier.extract is None:
            logger.warning("crawler.rules.indicators is not available: no indicators extracted")
        crawler.stats.set_value("rules/ruleset_version", self.classifier.ruleset_version)
        gc.freeze()  # the rule data lives as long as the crawl: keep it out of every GC pass
        self.buffer: list[AdItem] = []
        self.pool: ProcessPoolExecutor | None = None
        self.inline: BatchProcessor | None = None
        self.lock: asyncio.Lock | None = None
        self.pending: set[asyncio.Task[None]] = set()
        self.ticker: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BatchPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        ctx = crawl_context(self.crawler)
        config = WorkerConfig(
            database_url=ctx.engine.url.render_as_string(hide_password=False),
            evidence_dir=str(ctx.evidence_dir),
            warc_path=run_file_name(ctx.source.name, ctx.run_id),
            source_id=ctx.source_id,
            run_id=ctx.run_id,
            ruleset=self.classifier.ruleset_version,
            rules_dir=self.rules_dir,
            warc_info={
                "source": ctx.source.name,
                "spider": ctx.source.spider,
                "crawl-run": str(ctx.run_id),
            },
        )
        self.lock = asyncio.Lock()
        if self.use_process:
            self.pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(config,),
            )
            # start the worker (rules, database engine) before the first request
            pid, startup_cpu = await asyncio.get_running_loop().run_in_executor(
                self.pool, _worker_ready
            )
            self.stats.set_value("pipeline/worker_pid", pid)
            self.stats.set_value("pipeline/worker_startup_cpu_seconds", round(startup_cpu, 3))
        else:
            self.inline = BatchProcessor(config, classifier=self.classifier)
            ctx.warc = self.inline.warc
        if self.flush_seconds > 0:
            self.ticker = asyncio.ensure_future(self._tick())
        # The crawl's database engine, its mappings and the worker's handles live as long as the
        # crawl too: without this, every full collection of the crawl walks them again (about
        # 0.1 ms of CPU per item in the crawl process, `scamradar bench crawl`).
        gc.freeze()

    async def process_item(self, item: AdItem) -> AdItem:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self._flush()
            if len(self.pending) > MAX_WAITING_BATCHES:
                started = time.monotonic()
                while len(self.pending) > MAX_WAITING_BATCHES:
                    await asyncio.wait(self.pending, return_when=asyncio.FIRST_COMPLETED)
                waited = time.monotonic() - started
                self.stats.inc_value("pipeline/backpressure_seconds", round(waited, 3))
        return item

    async def close_spider(self) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        self._flush()
        if self.pending:
            await asyncio.gather(*self.pending)
        if self.pool is not None:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(self.pool, _worker_close)
            finally:
                await asyncio.to_thread(self.pool.shutdown, True)
                self.pool = None
        if self.inline is not None:
            self.inline.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            if self.buffer:
                self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        batch, self.buffer = self.buffer, []
        task = asyncio.ensure_future(self._run(batch))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _run(self, batch: list[AdItem]) -> None:
        assert self.lock is not None
        async with self.lock:
            try:
                if self.pool is not None:
                    counts, errors = await asyncio.get_running_loop().run_in_executor(
                        self.pool, _worker_process, batch
                    )
                else:
                    assert self.inline is not None
                    counts, errors = await asyncio.to_thread(self.inline.process, batch)
            except Exception:  # boundary: one bad batch must not end the crawl
                logger.error("could not process a batch of %d items", len(batch), exc_info=True)
                self.stats.inc_value("storage/errors")
                self.stats.inc_value("storage/items_lost", len(batch))
                return
        for message in errors:
            logger.error(message)
        for key, value in counts.items():
            self.stats.inc_value(key, value)
