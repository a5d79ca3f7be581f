"""The batch pipeline hands items over (whole batches, or chunks of them) and stores them in
whole batches."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from httpserver import FixtureServer
from scrapy.settings import Settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.items import AdItem
from crawler.pipelines.batch import BatchPipeline
from storage.db import make_engine
from storage.models import Ad, CrawlRun

from .conftest import Crawl, telegram_routes, telegram_source


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value

    def inc_value(self, key: str, count: Any = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


class _Crawler:
    def __init__(self, **settings: Any) -> None:
        self.settings = Settings(settings)
        self.stats = _Stats()


class _Processor:
    """Stands in for BatchProcessor: holds items until asked to store them; a chunk holding the
    text ``boom`` fails, and the processor then drops what it held, as BatchProcessor does."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.stored: list[list[str]] = []

    def process(self, items: list[AdItem], store: bool = True) -> tuple[Counter[str], list[str]]:
        if any(item.text == "boom" for item in items):
            self.held = []
            raise RuntimeError("boom")
        self.held += [item.text for item in items]
        counts: Counter[str] = Counter()
        if store and self.held:
            self.stored.append(self.held)
            counts["storage/items"] = len(self.held)
            self.held = []
        return counts, []

    def close(self) -> None:
        pass


def test_a_failed_chunk_loses_the_items_of_its_batch_handed_over_so_far(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gc, "freeze", lambda: None)  # not this test process's heap
    crawler = _Crawler(
        SCAMRADAR_STORE_BATCH=4,
        SCAMRADAR_PIPELINE_CHUNKS=4,  # one item per chunk
        SCAMRADAR_STORE_FLUSH_SECONDS=0,
        SCAMRADAR_PIPELINE_PROCESS=0,
    )
    pipeline = BatchPipeline(crawler)  # type: ignore[arg-type]
    processor = _Processor()
    pipeline.inline = processor  # type: ignore[assignment]
    pipeline.thread = ThreadPoolExecutor(max_workers=1)

    async def crawl() -> None:
        pipeline.lock = asyncio.Lock()
        for text in ["a", "b", "boom", "c", "d", "e", "f", "g", "h"]:
            await pipeline.process_item(AdItem(source="s", spider="bench", text=text))
        await pipeline.close_spider()

    asyncio.run(crawl())
    # a, b and boom were the batch so far when boom failed; c completes that batch of four
    assert processor.stored == [["c"], ["d", "e", "f", "g"], ["h"]]
    stats = crawler.stats.values
    assert (stats["storage/items_lost"], stats["storage/errors"]) == (3, 1)
    assert stats["storage/items"] == 6


@pytest.mark.parametrize("chunks", [1, 5])
def test_items_reach_the_worker_and_are_stored_in_whole_batches(
    crawl: Crawl, http_server: FixtureServer, chunks: int
) -> None:
    telegram_routes(http_server)
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl(
        "almaty_tg", "-s", "SCAMRADAR_STORE_BATCH=5", "-s", f"SCAMRADAR_PIPELINE_CHUNKS={chunks}"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "9 items, 9 new" in done.stdout
    engine = make_engine(crawl.db_url)
    try:
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(Ad)) == 9
            run = s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
            assert run is not None and run.status == "finished"
            assert run.stats["storage/batches"] == 2  # 5, then the last 4 at close
            assert "storage/items_lost" not in run.stats
    finally:
        engine.dispose()
    assert crawl.cli("evidence", "verify").returncode == 0
