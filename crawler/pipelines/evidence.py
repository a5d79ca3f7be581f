"""Evidence: write each item's captures as WARC records (format: crawler/evidence.py).

A stage of the batch pipeline (:mod:`crawler.pipelines.batch`). A capture shared by several
items (one Telegram page, twenty posts) is written once: the stage remembers the captures it
wrote lately, by URL, fetch time and payload size (items reach it pickled, in batches, so object
identity is not kept across batches). Counters: ``evidence/records``, ``evidence/bytes``.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from crawler.evidence import EvidenceRef, WarcStore
from crawler.items import AdItem, Capture

REMEMBERED = 512


def _key(capture: Capture) -> tuple[str, str, str, int, int]:
    return (
        capture.kind,
        capture.url,
        capture.fetched_at.isoformat(),
        capture.status,
        len(capture.body),
    )


class EvidenceWriter:
    def __init__(self, store: WarcStore):
        self.store = store
        self.written: OrderedDict[tuple[str, str, str, int, int], EvidenceRef] = OrderedDict()

    def write(self, item: AdItem, counts: Counter[str]) -> AdItem:
        """Write the item's captures (once each); ``item.evidence`` gets their references and
        ``item.captures`` is emptied (the bytes are on disk)."""
        refs = []
        for capture in item.captures:
            key = _key(capture)
            ref = self.written.get(key)
            if ref is None:
                before = self.store.bytes
                ref = self.store.write(capture)
                counts["evidence/records"] += 1
                counts["evidence/bytes"] += self.store.bytes - before
                self.written[key] = ref
                if len(self.written) > REMEMBERED:
                    self.written.popitem(last=False)
            else:
                self.written.move_to_end(key)
            refs.append(ref)
        item.evidence = refs
        item.captures = []
        return item
