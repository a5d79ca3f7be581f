"""Evidence: write each item's captures as WARC records (crawler/evidence.py).

A capture shared by several items (one Telegram page, twenty posts) is written once: the
pipeline remembers the last captures it wrote. Stats: ``evidence/records``, ``evidence/bytes``.

Settings read: ``SCAMRADAR_EVIDENCE_DIR`` (through the crawl context).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from crawler.context import crawl_context
from crawler.evidence import EvidenceRef, WarcStore, run_file_name
from crawler.items import AdItem, Capture

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

REMEMBERED = 256


class EvidencePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        # id(capture) -> (capture, ref); holding the capture keeps its id from being reused
        self.written: OrderedDict[int, tuple[Capture, EvidenceRef]] = OrderedDict()
        self.store: WarcStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EvidencePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        ctx = crawl_context(self.crawler)
        self.store = WarcStore(
            ctx.evidence_dir,
            run_file_name(ctx.source.name, ctx.run_id),
            info={
                "source": ctx.source.name,
                "spider": ctx.source.spider,
                "crawl-run": str(ctx.run_id),
            },
        )
        ctx.warc = self.store

    def process_item(self, item: AdItem) -> AdItem:
        assert self.store is not None
        refs = []
        for capture in item.captures:
            known = self.written.get(id(capture))
            if known is not None and known[0] is capture:
                self.written.move_to_end(id(capture))
                refs.append(known[1])
                continue
            before = self.store.bytes
            ref = self.store.write(capture)
            self.stats.inc_value("evidence/records")
            self.stats.inc_value("evidence/bytes", self.store.bytes - before)
            self.written[id(capture)] = (capture, ref)
            if len(self.written) > REMEMBERED:
                self.written.popitem(last=False)
            refs.append(ref)
        item.evidence = refs
        item.captures = []  # the bytes are on disk now; do not keep them in memory
        return item
