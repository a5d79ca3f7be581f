"""Classify: run the rule engine on each item and find its indicators.

The engine is loaded once, when the crawl starts (a broken rule set stops the crawl before the
first request, with the file and line of the problem).

The rule engine is the costliest step of the pipeline (pure Python), so by default it runs in a
worker process, fed in batches: the crawl's reactor thread keeps downloading and parsing while
the worker classifies, which is what keeps the full pipeline close to a bare spider's throughput
on a machine with a spare core (``scamradar bench crawl``). With one CPU, or
``SCAMRADAR_CLASSIFY_WORKERS=0``, it runs inline.

Stats: ``rules/labels/<label>``, ``rules/hits/<rule_id>`` for every rule that fired,
``indicators/found``, ``rules/errors`` (an item the engine fails on is logged with its traceback
and stored unclassified, not lost).

Settings read: ``SCAMRADAR_RULES_DIR`` (default: the bundled rule data),
``SCAMRADAR_CLASSIFY_WORKERS`` (worker processes; default 1 when the machine has 2+ CPUs, else 0),
``SCAMRADAR_CLASSIFY_BATCH`` (items per batch sent to a worker, default 32).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from crawler.items import AdItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
FLUSH_AFTER = 0.005  # seconds a partial batch waits for more items


def _indicator_extractor() -> Callable[[str], list[Any]] | None:
    try:
        from crawler.rules.indicators import extract_indicators
    except ImportError:
        return None
    return extract_indicators  # type: ignore[no-any-return]


class Classifier:
    """The engine and the indicator extractor, in whichever process runs them."""

    def __init__(self, rules_dir: str | None):
        from crawler.rules import load_engine

        self.engine = load_engine(rules_dir)
        self.extract = _indicator_extractor()

    def __call__(self, ad: Mapping[str, Any], blob: str) -> tuple[Any, list[tuple[str, str]]]:
        verdict = self.engine.classify(ad)
        found: list[tuple[str, str]] = []
        if self.extract is not None:
            found = list(dict.fromkeys((i.kind, i.value) for i in self.extract(blob)))
        return verdict, found


_WORKER: Classifier | None = None


def _init_worker(rules_dir: str | None) -> None:
    global _WORKER
    _WORKER = Classifier(rules_dir)


def _classify_batch(batch: list[tuple[dict[str, Any], str]]) -> list[tuple[Any, Any, str | None]]:
    """In a worker: (verdict, indicators, error) for each (ad, blob)."""
    assert _WORKER is not None
    out: list[tuple[Any, Any, str | None]] = []
    for ad, blob in batch:
        try:
            verdict, found = _WORKER(ad, blob)
        except Exception as exc:  # boundary: reported back and counted by the pipeline
            out.append((None, [], f"{type(exc).__name__}: {exc}"))
        else:
            out.append((verdict, found, None))
    return out


def _inputs(item: AdItem) -> tuple[dict[str, Any], str]:
    ad = {
        "title": item.title or "",
        "text": item.text,
        "url": item.landing_url or item.url or "",
        "advertiser": item.advertiser or "",
        "source": item.spider,
    }
    blob = "\n".join(p for p in (item.title, item.text, item.landing_url, *item.links) if p)
    return ad, blob


class ClassifyPipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.stats = crawler.stats
        self.rules_dir: str | None = settings.get("SCAMRADAR_RULES_DIR") or None
        workers = settings.getint("SCAMRADAR_CLASSIFY_WORKERS", -1)
        if workers < 0:
            workers = 1 if (os.cpu_count() or 1) >= 2 else 0
        self.workers = workers
        self.batch_size = max(1, settings.getint("SCAMRADAR_CLASSIFY_BATCH", 32))
        # Loaded here even with workers, so that broken rule data stops the crawl at once.
        self.local = Classifier(self.rules_dir)
        if self.local.extract is None:
            logger.warning(
                "crawler.rules.indicators is not available: indicators are not extracted"
            )
        crawler.stats.set_value("rules/ruleset_version", self.local.engine.ruleset_version)
        self.pool: ProcessPoolExecutor | None = None
        self.pending: list[tuple[AdItem, asyncio.Future[Any]]] = []
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClassifyPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        if self.workers:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.rules_dir,),
            )
            self.stats.set_value("rules/workers", self.workers)
            # Start the workers (and load their engines) before the first request.
            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(loop.run_in_executor(self.pool, _classify_batch, []) for _ in range(self.workers))
            )

    async def close_spider(self) -> None:
        if self.pending:
            self._dispatch()
        if self.pool is not None:
            await asyncio.to_thread(self.pool.shutdown, True)
            self.pool = None

    async def process_item(self, item: AdItem) -> AdItem:
        if self.pool is None:
            ad, blob = _inputs(item)
            try:
                verdict, found = self.local(ad, blob)
            except Exception:  # boundary: the ad is stored unclassified rather than lost
                logger.error(
                    "the rule engine failed on %s", item.url or item.external_id, exc_info=True
                )
                self.stats.inc_value("rules/errors")
                return item
            return self._apply(item, verdict, found)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if len(self.pending) >= self.batch_size:
            self._dispatch()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_AFTER, self._dispatch)
        verdict, found, error = await future
        if error is not None:
            logger.error("the rule engine failed on %s: %s", item.url or item.external_id, error)
            self.stats.inc_value("rules/errors")
            return item
        return self._apply(item, verdict, found)

    def _dispatch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        assert self.pool is not None
        work = asyncio.get_running_loop().run_in_executor(
            self.pool, _classify_batch, [_inputs(item) for item, _ in batch]
        )

        def done(result: asyncio.Future[list[tuple[Any, Any, str | None]]]) -> None:
            error = result.exception()
            answers = (
                [(None, [], f"worker failed: {error!r}")] * len(batch) if error else result.result()
            )
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)

        work.add_done_callback(done)

    def _apply(self, item: AdItem, verdict: Any, found: list[tuple[str, str]]) -> AdItem:
        item.verdict = verdict
        self.stats.inc_value(f"rules/labels/{verdict.label}")
        for rule in verdict.rules:
            self.stats.inc_value(f"rules/hits/{rule.id}")
        if self.local.extract is not None:
            item.indicators = found
            self.stats.inc_value("indicators/found", len(found))
        return item
