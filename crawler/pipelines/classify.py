"""Classify: run the rule engine on each item and find its indicators.

The engine is loaded once, when the crawl starts (a broken rule set stops the crawl before the
first request, with the file and line of the problem). Stats: ``rules/labels/<label>``,
``rules/hits/<rule_id>`` for every rule that fired, ``indicators/found``, ``rules/errors`` (an
item the engine fails on is logged with its traceback and stored unclassified, not lost).

Settings read: ``SCAMRADAR_RULES_DIR`` (default: the bundled rule data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crawler.items import AdItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def _indicator_extractor() -> Callable[[str], list[Any]] | None:
    try:
        from crawler.rules.indicators import extract_indicators
    except ImportError:
        return None
    return extract_indicators  # type: ignore[no-any-return]


class ClassifyPipeline:
    def __init__(self, crawler: Crawler):
        from crawler.rules import load_engine

        self.stats = crawler.stats
        self.engine = load_engine(crawler.settings.get("SCAMRADAR_RULES_DIR") or None)
        self.extract = _indicator_extractor()
        if self.extract is None:
            logger.warning(
                "crawler.rules.indicators is not available: indicators are not extracted"
            )
        crawler.stats.set_value("rules/ruleset_version", self.engine.ruleset_version)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClassifyPipeline:
        return cls(crawler)

    def process_item(self, item: AdItem) -> AdItem:
        try:
            verdict = self.engine.classify(
                {
                    "title": item.title or "",
                    "text": item.text,
                    "url": item.landing_url or item.url or "",
                    "advertiser": item.advertiser or "",
                    "source": item.spider,
                }
            )
        except Exception:  # boundary: the ad is stored unclassified rather than lost
            logger.error("the rule engine failed on %s", item.url or item.external_id,
                         exc_info=True)
            self.stats.inc_value("rules/errors")
            return item
        item.verdict = verdict
        self.stats.inc_value(f"rules/labels/{verdict.label}")
        for rule in verdict.rules:
            self.stats.inc_value(f"rules/hits/{rule.id}")
        if self.extract is not None:
            blob = "\n".join(p for p in (item.title, item.text, item.landing_url, *item.links) if p)
            found = [(ind.kind, ind.value) for ind in self.extract(blob)]
            item.indicators = list(dict.fromkeys(found))
            self.stats.inc_value("indicators/found", len(item.indicators))
        return item
