"""The crawl-run recorder: opens the run when the spider opens, judges and closes it at the end.

Judged from the stats, as spidermon would (the stats are the health contract):

- the spider was stopped (SIGTERM/SIGINT, ``shutdown``) → ``interrupted``;
- it reached ``CLOSESPIDER_TIMEOUT`` (the source's ``timeout``) → ``timeout``;
- a batch could not be stored (``storage/items_lost``) → ``failed``;
- errors (``log_count/ERROR`` + HTTP error responses) are more than
  ``SCAMRADAR_FAILED_ERROR_SHARE`` of all outcomes → ``failed``;
- no item at all → ``failed`` when there were errors or robots.txt forbade requests, else
  ``empty``;
- otherwise ``finished``.

The run is closed with its counts (items, new ads, seen again, hits, errors), the first error
messages, and the Scrapy stats. ``scamradar/run_status`` is left in the stats for the runner.

Settings read: ``SCAMRADAR_FAILED_ERROR_SHARE`` (default 0.5).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.context import crawl_context, get_context

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class _FirstErrors(logging.Handler):
    """Keeps the first few ERROR messages of the crawl, for the run's ``error`` column."""

    def __init__(self, keep: int = 3):
        super().__init__(level=logging.ERROR)
        self.keep = keep
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < self.keep:
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad log call must not break the crawl
                text = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self.messages.append(text.splitlines()[0][:300] if text else "error")


def judge(stats: Mapping[str, Any], reason: str, share: float) -> tuple[str, int, str | None]:
    """(status, errors, why) for a crawl that ended with ``reason`` and these stats."""
    http_errors = int(stats.get("httperror/response_ignored_count", 0))
    errors = int(stats.get("log_count/ERROR", 0)) + http_errors
    responses = int(stats.get("response_received_count", 0))
    responses -= int(stats.get("robotstxt/response_count", 0))
    items = int(stats.get("storage/items", stats.get("item_scraped_count", 0)))
    good = max(responses - http_errors, 0)
    if reason == "shutdown":
        return "interrupted", errors, "the crawl was stopped"
    if reason == "closespider_timeout":
        return "timeout", errors, "the crawl reached its timeout"
    if stats.get("storage/items_lost"):
        return "failed", errors, f"{stats['storage/items_lost']} items could not be stored"
    forbidden = int(stats.get("robotstxt/forbidden", 0))
    if items == 0:
        if forbidden:
            return "failed", errors, f"no item: {forbidden} requests forbidden by robots.txt"
        if errors:
            return "failed", errors, f"no item, {errors} errors"
        return "empty", errors, f"no item from {good} responses"
    if errors and errors > share * (errors + good):
        return "failed", errors, f"{errors} errors against {good} good responses"
    if reason != "finished":
        return "failed", errors, f"closed: {reason}"
    return "finished", errors, None


class CrawlRunRecorder:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.share = crawler.settings.getfloat("SCAMRADAR_FAILED_ERROR_SHARE", 0.5)
        if not 0 < self.share <= 1:
            raise ValueError("SCAMRADAR_FAILED_ERROR_SHARE must be in (0, 1]")
        self.errors = _FirstErrors()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        ctx = crawl_context(self.crawler)
        logging.getLogger().addHandler(self.errors)
        logger.info("crawl run %d of source %r opened", ctx.run_id, ctx.source.name)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        from storage.runs import RunCounts, close_crawl_run

        logging.getLogger().removeHandler(self.errors)
        ctx = get_context(self.crawler)
        if ctx is None:
            return
        stats = self.crawler.stats
        values = stats.get_stats()
        status, errors, why = judge(values, reason, self.share)
        counts = RunCounts(
            items=int(values.get("storage/items", 0)),
            ads_new=int(values.get("storage/ads_new", 0)),
            ads_seen_again=int(values.get("storage/ads_seen_again", 0)),
            hits=int(values.get("storage/hits", 0)),
            errors=errors,
        )
        error = None
        if status != "finished":
            error = "; ".join([why or status, *self.errors.messages])[:2000]
        stats.set_value("scamradar/run_status", status)
        if error:
            stats.set_value("scamradar/run_error", error)
        try:
            with ctx.sessions.begin() as session:
                close_crawl_run(session, ctx.run_id, status, counts, stats=values, error=error)
        finally:
            ctx.close()
        level = logging.INFO if status == "finished" else logging.WARNING
        logger.log(
            level,
            "crawl run %d of %r: %s (%s items, %s new, %s hits, %s errors)%s",
            ctx.run_id,
            ctx.source.name,
            status,
            counts.items,
            counts.ads_new,
            counts.hits,
            errors,
            f": {error}" if error else "",
        )
