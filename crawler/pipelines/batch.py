"""The batch pipeline: classify → evidence → store, a batch at a time, off the crawl's thread.

Items are stored in batches of ``SCAMRADAR_STORE_BATCH`` (also every
``SCAMRADAR_STORE_FLUSH_SECONDS`` when some are waiting, and when the spider closes) by a
:class:`BatchProcessor`, which runs the three stages in order:
:class:`~crawler.pipelines.classify.Classifier` (rule engine, indicators) and
:class:`~crawler.pipelines.evidence.EvidenceWriter` (WARC records) on each item, then
:class:`~crawler.pipelines.store.BatchWriter` on the whole batch (one database transaction).
By default a batch reaches the processor whole, when it is full. With
``SCAMRADAR_PIPELINE_CHUNKS`` = N it is handed over in N chunks as the items come, so that the
processor classifies them while the crawl goes on and the end of a crawl waits for one chunk
rather than a batch: that pays on a machine whose processor is slow enough to keep the crawl
waiting, while every hand-over costs the crawl process a little (on the 2-CPU development
machine, ``scamradar bench crawl``: 85 % of the bare spider's throughput with chunks of 20, 89-91 %
with whole batches; docs/collection.md).

By default the processor lives in one worker process of its own (with its own database engine
and the run's WARC file), so the rule engine, gzip and the database use a second CPU while the
reactor keeps downloading and parsing: that is what keeps a full crawl near a bare spider's
throughput (``scamradar bench crawl``). On a one-CPU machine, or with
``SCAMRADAR_PIPELINE_PROCESS=0``, it runs in a thread of the crawl process instead. One chunk is
processed at a time, in order; when two batches' worth of items are with the processor the
pipeline waits (back-pressure, so memory stays flat).

The worker is spawned by the runner right after its database check
(:func:`start_worker_early`), or else when the pipeline is made, and loads the rule engine while
the crawl process goes on starting (Scrapy's imports and components, the crawl run); it gets the
run's details when the spider opens. The rules are loaded only where they are used: in the
worker, or, inline, in the crawl process. Either way broken rule data stops the crawl before its
first request (and before its run is recorded), with the file and line.

A batch that cannot be processed is logged with its traceback and counted (``storage/errors``,
``storage/items_lost``: the items of the batch handed over until then): the run then ends
``failed``. The stages' counters (``rules/…``, ``indicators/found``, ``evidence/…``,
``storage/…``) are added to the crawl's stats, with ``storage/batches`` and
``pipeline/backpressure_seconds`` (time the crawl waited for the stages: when it grows, the
stages are the bottleneck); with a worker process, ``pipeline/worker_pid``,
``pipeline/worker_startup_cpu_seconds`` (what starting it cost: interpreter, imports, rules) and
``pipeline/worker_peak_rss_mb`` (its own peak resident memory).

Settings read: ``SCAMRADAR_STORE_BATCH`` (100), ``SCAMRADAR_STORE_FLUSH_SECONDS`` (5),
``SCAMRADAR_PIPELINE_CHUNKS`` (1: whole batches), ``SCAMRADAR_PIPELINE_PROCESS`` (default on when
the machine has 2+ CPUs), ``SCAMRADAR_RULES_DIR``,
and, through the crawl context, ``SCAMRADAR_DATABASE_URL`` and ``SCAMRADAR_EVIDENCE_DIR``.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
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
    from scrapy.settings import BaseSettings

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
    warc_info: dict[str, str] = field(default_factory=dict)


class BatchProcessor:
    """classify → evidence for the items of a batch as they come, store for the whole batch."""

    def __init__(self, config: WorkerConfig, classifier: Classifier):
        from storage.db import make_engine, session_factory

        self.engine = make_engine(config.database_url)
        self.classifier = classifier
        self.warc = WarcStore(Path(config.evidence_dir), config.warc_path, info=config.warc_info)
        self.evidence = EvidenceWriter(self.warc)
        self.store = BatchWriter(
            session_factory(self.engine),
            config.source_id,
            config.run_id,
            classifier.ruleset_version,
            self.warc,
        )
        self.ready: list[AdItem] = []  # classified, evidence written, not stored yet

    def process(self, items: list[AdItem], store: bool = True) -> tuple[Counter[str], list[str]]:
        """Classify ``items`` and write their evidence; with ``store``, store every item
        processed since the last store (``items`` included) in one transaction. Returns the
        counters and the errors to report (items the engine failed on). When anything fails,
        the items not stored yet are dropped (the caller counts them lost) and the error
        propagates."""
        counts: Counter[str] = Counter()
        errors: list[str] = []
        try:
            for item in items:
                self.classifier.classify(item, counts, errors)
                self.evidence.write(item, counts)
            self.ready.extend(items)
            if store and self.ready:
                batch, self.ready = self.ready, []
                counts.update(self.store.write(batch))
                counts["storage/batches"] += 1
        except BaseException:
            self.ready = []
            raise
        return counts, errors

    def close(self) -> None:
        self.warc.close()
        self.engine.dispose()


# --------------------------------------------------------------------------- worker process

_CLASSIFIER: Classifier | None = None
_LOAD_ERROR: Exception | None = None
_PROCESSOR: BatchProcessor | None = None


def _worker_init(rules_dir: str | None) -> None:
    """Load the rules (what makes the worker's start-up long) before the run is known."""
    global _CLASSIFIER, _LOAD_ERROR
    # Ctrl-C and SIGTERM reach the whole process group: the crawl process decides when to stop
    # and closes the worker after the last batch; a killed crawl ends it (_exit_with).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_exit_with, args=(parent.sentinel,), name="scamradar-parent", daemon=True
        ).start()
    try:
        _CLASSIFIER = Classifier(rules_dir)
    except Exception as exc:  # reported by _worker_ready: a broken pool would lose the message
        _LOAD_ERROR = exc
    gc.freeze()  # the rule data lives as long as the process: keep it out of every GC pass


def _exit_with(parent_sentinel: int) -> None:
    """End the worker when the crawl process dies (SIGKILL, a crash): the pool's call queue
    never reaches EOF, since the worker holds a write end of it too. What it has not stored is
    lost with the crawl, as the crawl's own buffers are; rows are committed only after the WARC
    records they point at are on disk."""
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _worker_ready() -> str:
    """The rule set's version, once the rules are loaded; raises what loading them raised."""
    if _LOAD_ERROR is not None:
        raise _LOAD_ERROR
    assert _CLASSIFIER is not None
    return _CLASSIFIER.ruleset_version


def _worker_open(config: WorkerConfig) -> tuple[int, float]:
    """Open the run's database engine and WARC file; returns the worker's pid and the CPU
    seconds its whole start-up took (interpreter, imports, rules, engine)."""
    global _PROCESSOR
    assert _CLASSIFIER is not None
    _PROCESSOR = BatchProcessor(config, _CLASSIFIER)
    gc.freeze()
    return os.getpid(), time.process_time()


def _worker_process(chunk: bytes, store: bool) -> tuple[Counter[str], list[str]]:
    assert _PROCESSOR is not None
    items: list[AdItem] = pickle.loads(chunk)
    return _PROCESSOR.process(items, store)


def _worker_close() -> float:
    """Close the run's files and engine; returns the worker's peak resident memory in MB.

    Once they are closed nothing is left that needs the interpreter's tear-down, which frees
    every object of the rule data one by one (about 20 ms that the end of every crawl waited
    for, ``scamradar bench crawl``): the worker then skips it when the pool ends it."""
    if _PROCESSOR is not None:
        _PROCESSOR.close()
    atexit.register(_quick_exit)
    return _peak_rss_mb()


def _quick_exit() -> None:
    """The last exit handler to be registered, so the first to run: the pool's own clean-up
    (its result queue flushed) has run by then."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _peak_rss_mb() -> float:
    """This process's own peak RSS (``VmHWM``): unlike ``ru_maxrss``, not the crawl process's
    size at the fork that preceded the spawned worker's exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- starting the worker

_STARTED: tuple[str | None, ProcessPoolExecutor, Future[str]] | None = None


def uses_worker_process(settings: BaseSettings) -> bool:
    """Whether the batch stages run in a worker process (``SCAMRADAR_PIPELINE_PROCESS``)."""
    value = settings.get("SCAMRADAR_PIPELINE_PROCESS")
    if value is None or str(value).strip().lower() in ("", "auto", "-1"):
        return (os.cpu_count() or 1) >= 2
    return settings.getbool("SCAMRADAR_PIPELINE_PROCESS")


def _start(rules_dir: str | None) -> tuple[ProcessPoolExecutor, Future[str]]:
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(rules_dir,),
    )
    return pool, pool.submit(_worker_ready)


def start_worker_early(settings: BaseSettings) -> bool:
    """Spawn the crawl's worker now, for the batch pipeline of this process's crawl to take
    when Scrapy makes it: the runner calls this first thing, so that the worker's start-up
    overlaps the crawl process's own (Scrapy's imports and components, the database checks),
    about a second of a small crawl's wall time. Does nothing (False) when the crawl's
    pipelines do not include a batch pipeline with a worker process. Pair with
    :func:`discard_early_worker` for a crawl that does not start."""
    global _STARTED
    from scrapy.utils.conf import build_component_list
    from scrapy.utils.misc import load_object

    pipelines = build_component_list(settings.getwithbase("ITEM_PIPELINES"))
    if _STARTED is not None or not uses_worker_process(settings):
        return False
    if not any(load_object(p) is BatchPipeline for p in pipelines):
        return False
    rules_dir: str | None = settings.get("SCAMRADAR_RULES_DIR") or None
    _STARTED = (rules_dir, *_start(rules_dir))
    return True


def discard_early_worker() -> None:
    """Stop a worker :func:`start_worker_early` started and no pipeline took."""
    global _STARTED
    if _STARTED is not None:
        _STARTED[1].shutdown(wait=False, cancel_futures=True)
        _STARTED = None


def _take_started_worker(
    rules_dir: str | None,
) -> tuple[ProcessPoolExecutor, Future[str]] | None:
    global _STARTED
    if _STARTED is None:
        return None
    started, _STARTED = _STARTED, None
    if started[0] != rules_dir:  # started for other rules: not this crawl's
        started[1].shutdown(wait=False, cancel_futures=True)
        return None
    return started[1], started[2]


# --------------------------------------------------------------------------- the Scrapy component


class BatchPipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.batch_size = max(1, settings.getint("SCAMRADAR_STORE_BATCH", 100))
        chunks = max(1, settings.getint("SCAMRADAR_PIPELINE_CHUNKS", 1))
        self.chunk_size = max(1, self.batch_size // chunks)
        self.flush_seconds = settings.getfloat("SCAMRADAR_STORE_FLUSH_SECONDS", 5.0)
        self.use_process = uses_worker_process(settings)
        rules_dir: str | None = settings.get("SCAMRADAR_RULES_DIR") or None
        self.classifier: Classifier | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.ready: Future[str] | None = None
        if self.use_process:
            # The worker started by the runner, else one spawned now: either way its start-up
            # (interpreter, imports, the rules: about a CPU-second) runs on another CPU while
            # this process goes on starting.
            self.pool, self.ready = _take_started_worker(rules_dir) or _start(rules_dir)
        else:
            self.classifier = Classifier(rules_dir)  # fail fast on broken rule data
            crawler.stats.set_value("rules/ruleset_version", self.classifier.ruleset_version)
        gc.freeze()  # what the crawl set up lives as long as the crawl: out of every GC pass
        self.buffer: list[AdItem] = []
        self.unstored = 0  # items handed over since the last store was asked for
        self.with_processor = 0  # items handed over and not yet done with (back-pressure)
        self.held = 0  # items the processor finished with but has not stored yet
        self.waiting = 0  # items waiting for the processor to catch up
        self.inline: BatchProcessor | None = None
        self.thread: ThreadPoolExecutor | None = None  # runs self.inline, one chunk at a time
        self.lock: asyncio.Lock | None = None
        self.pending: set[asyncio.Task[None]] = set()
        self.ticker: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BatchPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        loop = asyncio.get_running_loop()
        if self.pool is not None:
            assert self.ready is not None
            try:
                # the rules first: broken rule data ends the crawl before its run is recorded
                ruleset = await asyncio.wrap_future(self.ready)
            except BaseException:
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = None
                raise
            self.stats.set_value("rules/ruleset_version", ruleset)
        ctx = crawl_context(self.crawler)
        config = WorkerConfig(
            database_url=ctx.engine.url.render_as_string(hide_password=False),
            evidence_dir=str(ctx.evidence_dir),
            warc_path=run_file_name(ctx.source.name, ctx.run_id),
            source_id=ctx.source_id,
            run_id=ctx.run_id,
            warc_info={
                "source": ctx.source.name,
                "spider": ctx.source.spider,
                "crawl-run": str(ctx.run_id),
            },
        )
        self.lock = asyncio.Lock()
        if self.pool is not None:
            # the run's database engine and WARC file, before the first request
            pid, startup_cpu = await loop.run_in_executor(self.pool, _worker_open, config)
            self.stats.set_value("pipeline/worker_pid", pid)
            self.stats.set_value("pipeline/worker_startup_cpu_seconds", round(startup_cpu, 3))
        else:
            assert self.classifier is not None
            self.inline = BatchProcessor(config, self.classifier)
            self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scamradar-batch")
            ctx.warc = self.inline.warc
        if self.flush_seconds > 0:
            self.ticker = asyncio.ensure_future(self._tick())
        # The crawl's database engine, its mappings and the worker's handles live as long as the
        # crawl too: without this, every full collection of the crawl walks them again (about
        # 0.1 ms of CPU per item in the crawl process, `scamradar bench crawl`).
        gc.freeze()

    async def process_item(self, item: AdItem) -> AdItem:
        self.buffer.append(item)
        if len(self.buffer) >= self.chunk_size:
            self._flush(store=self.unstored + len(self.buffer) >= self.batch_size)
            # the batch being processed and one more may be with the processor
            limit = (MAX_WAITING_BATCHES + 1) * self.batch_size
            if self.with_processor >= limit:
                first = not self.waiting  # items waiting together count their wait once
                self.waiting += 1
                started = time.monotonic()
                try:
                    while self.with_processor >= limit and self.pending:
                        await asyncio.wait(self.pending, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    self.waiting -= 1
                if first:
                    waited = time.monotonic() - started
                    self.stats.inc_value("pipeline/backpressure_seconds", round(waited, 3))
        return item

    async def close_spider(self) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        self._flush(store=True)
        if self.pending:
            await asyncio.gather(*self.pending)
        if self.pool is not None:
            loop = asyncio.get_running_loop()
            try:
                peak = await loop.run_in_executor(self.pool, _worker_close)
                self.stats.set_value("pipeline/worker_peak_rss_mb", round(peak, 1))
            finally:
                await asyncio.to_thread(self.pool.shutdown, True)
                self.pool = None
        if self.thread is not None:
            await asyncio.to_thread(self.thread.shutdown, True)
            self.thread = None
        if self.inline is not None:
            self.inline.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            if self.buffer or self.unstored:
                self._flush(store=True)

    def _flush(self, store: bool) -> None:
        """Hand the buffered items over (a chunk); with ``store``, the processor stores every
        item it was handed since the last store."""
        if not self.buffer and not (store and self.unstored):
            return
        chunk, self.buffer = self.buffer, []
        size = len(chunk)
        self.unstored = 0 if store else self.unstored + size
        self.with_processor += size
        # Handed over now, not when the previous chunk's result is back: the processor (one
        # process, or one thread) takes its calls in order, and never waits for the reactor.
        loop = asyncio.get_running_loop()
        if self.pool is not None:
            # Pickled here rather than by the executor's feeder thread: the items are garbage
            # as soon as Scrapy is done with them, instead of living (and being walked by the
            # collector) until the worker's answer is back, and one bytes object crosses over.
            try:
                payload = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # reported and counted by _run, as a failed batch
                done: asyncio.Future[tuple[Counter[str], list[str]]] = loop.create_future()
                done.set_exception(exc)
            else:
                done = loop.run_in_executor(self.pool, _worker_process, payload, store)
        else:
            assert self.inline is not None and self.thread is not None
            done = loop.run_in_executor(self.thread, self.inline.process, chunk, store)
        task = asyncio.ensure_future(self._run(size, store, done))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _run(
        self,
        size: int,
        store: bool,
        done: asyncio.Future[tuple[Counter[str], list[str]]],
    ) -> None:
        assert self.lock is not None
        async with self.lock:  # results are taken in the order the chunks were handed over
            try:
                counts, errors = await done
            except Exception:  # boundary: one bad batch must not end the crawl
                # the processor dropped what it held of this batch, and this chunk
                lost = self.held + size
                logger.error("could not process a batch of %d items", lost, exc_info=True)
                self.stats.inc_value("storage/errors")
                self.stats.inc_value("storage/items_lost", lost)
                self.held = 0
                return
            finally:
                self.with_processor -= size
            self.held = 0 if store else self.held + size
        for message in errors:
            logger.error(message)
        for key, value in counts.items():
            self.stats.inc_value(key, value)
