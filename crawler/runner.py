"""Run one configured source once, in this process (``scamradar crawl NAME``).

One crawl per process: the Twisted reactor cannot be restarted, so the scheduler and the tests
run each crawl as a ``scamradar crawl`` subprocess. The crawl run itself (open, judge, close)
is recorded by :class:`crawler.crawlrun.CrawlRunRecorder`; the source's ``timeout`` (less a
margin, :func:`soft_timeout`) becomes ``CLOSESPIDER_TIMEOUT`` so a slow crawl ends itself as
``timeout`` before the scheduler has to kill it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapy.settings import Settings

from crawler.config import AppSettings
from crawler.context import get_context
from crawler.errors import UserError
from crawler.sources import SourceConfig
from crawler.spiders import spider_class

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    source: str
    status: str
    run_id: int | None
    stats: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def count(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)


def scrapy_settings(
    source: SourceConfig | None,
    app: AppSettings,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """scamradar's Scrapy settings for one crawl: the project module, the app configuration,
    the source's timeout, then ``overrides`` (``--set KEY=VALUE``)."""
    from crawler.settings import app_overrides

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update(app_overrides(app), priority="project")
    if source is not None:
        settings.set("CLOSESPIDER_TIMEOUT", soft_timeout(source), priority="project")
    if overrides:
        settings.update(dict(overrides), priority="cmdline")
    return settings


def soft_timeout(source: SourceConfig) -> int:
    """Seconds after which the crawl closes itself: the source's ``timeout`` less a margin
    (10 %, at most a minute), so that it ends and records its run as ``timeout`` before the
    scheduler's hard kill at ``timeout``."""
    total = source.timeout.total_seconds()
    return max(1, int(total - min(60.0, total * 0.1)))


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs (``--set``) as a dict; raises :class:`UserError` on a bad pair."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {pair!r}: expected KEY=VALUE (a Scrapy setting)")
        out[key.strip()] = value
    return out


def run_source(
    source: SourceConfig,
    app: AppSettings | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RunResult:
    """Crawl ``source`` once; returns the run's status, id and stats."""
    from scrapy.crawler import CrawlerProcess

    from crawler.cli.common import open_database
    from crawler.pipelines.batch import discard_early_worker, start_worker_early

    app = app or AppSettings.from_env()
    with open_database(app):  # one clear line when the database is unreachable or unmigrated
        pass
    settings = scrapy_settings(source, app, overrides)
    # the pipeline worker loads the rules while this process starts Scrapy (the batch pipeline
    # takes it when Scrapy makes the pipeline)
    start_worker_early(settings)
    try:
        cls = spider_class(source.spider)
    except BaseException:
        discard_early_worker()
        raise
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(cls)
    failures: list[str] = []

    def failed(failure: Any) -> None:
        failures.append(f"{failure.type.__name__}: {failure.value}")
        logger.error("the crawl of %r failed", source.name, exc_info=failure.value)

    process.crawl(crawler, source=source).addErrback(failed)
    try:
        process.start()
    finally:
        discard_early_worker()  # a crawl that failed before its pipeline was made

    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    ctx = get_context(crawler)
    run_id = ctx.run_id if ctx else None
    status = stats.get("scamradar/run_status")
    error = stats.get("scamradar/run_error")
    if status is None:
        status = "failed"
        error = "; ".join(failures) or "the crawl ended before its run was recorded"
        if ctx is not None and not ctx.closed:
            _close_abandoned(ctx, error, stats)
    return RunResult(source.name, status, run_id, stats, error)


def _close_abandoned(ctx: Any, error: str, stats: Mapping[str, Any]) -> None:
    from storage.runs import RunCounts, close_crawl_run

    try:
        with ctx.sessions.begin() as session:
            close_crawl_run(
                session, ctx.run_id, "failed", RunCounts(errors=1), stats=stats, error=error
            )
    finally:
        ctx.close()
