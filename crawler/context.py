"""What the components of one crawl share: the database, the source row and the crawl run.

Made once per crawler, by whichever component asks first (:func:`crawl_context`), and closed by
the crawl-run recorder when the spider closes. Components that need the database (the store and
evidence pipelines, the run recorder, a spider checking what is already stored) all go through it,
so one crawl uses one engine.

Settings read: ``SCAMRADAR_DATABASE_URL``, ``SCAMRADAR_EVIDENCE_DIR`` (default: from the
environment, :class:`crawler.config.AppSettings`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from crawler.config import AppSettings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.evidence import WarcStore
    from crawler.sources import SourceConfig

_ATTR = "_scamradar_context"


@dataclass
class CrawlContext:
    source: SourceConfig
    engine: Engine
    sessions: sessionmaker[Session]
    source_id: int
    run_id: int
    evidence_dir: Path
    warc: WarcStore | None = None
    closed: bool = False
    notes: list[str] = field(default_factory=list)

    def stored_external_ids(self, external_ids: Iterable[str]) -> set[str]:
        """Which of these external ids this source has already stored."""
        from storage.models import Ad
        from storage.sightings import AdSighting

        by_key = {
            AdSighting(spider=self.source.spider, text="", external_id=e).dedupe_key(): e
            for e in external_ids
        }
        if not by_key:
            return set()
        with self.sessions() as session:
            found = session.scalars(
                select(Ad.dedupe_key).where(
                    Ad.source_id == self.source_id, Ad.dedupe_key.in_(list(by_key))
                )
            )
            return {by_key[key] for key in found}

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.warc is not None:
            self.warc.close()
        self.engine.dispose()


def has_context(crawler: Crawler) -> bool:
    return getattr(crawler, _ATTR, None) is not None


def get_context(crawler: Crawler) -> CrawlContext | None:
    return getattr(crawler, _ATTR, None)  # type: ignore[no-any-return]


def crawl_context(crawler: Crawler) -> CrawlContext:
    """The crawl's context, made on first use: connects, records the source and opens the run."""
    ctx: CrawlContext | None = getattr(crawler, _ATTR, None)
    if ctx is not None:
        return ctx
    from storage.db import check_connection, make_engine, session_factory
    from storage.migrate import require_current_schema
    from storage.runs import get_or_create_source, open_crawl_run

    spider = crawler.spider
    source: SourceConfig | None = getattr(spider, "source_config", None)
    if source is None:
        raise RuntimeError(
            f"spider {getattr(spider, 'name', spider)!r} has no source_config: "
            "scamradar components need a configured source (scamradar crawl NAME)"
        )
    settings = crawler.settings
    app = None
    url = settings.get("SCAMRADAR_DATABASE_URL")
    evidence = settings.get("SCAMRADAR_EVIDENCE_DIR")
    if not url or not evidence:
        app = AppSettings.from_env()
    engine = make_engine(url or app.database_url)  # type: ignore[union-attr]
    check_connection(engine)
    require_current_schema(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        row = get_or_create_source(session, source.name, source.spider, source.to_dict())
        run = open_crawl_run(session, row, pid=os.getpid())
        source_id, run_id = row.id, run.id
    ctx = CrawlContext(
        source=source,
        engine=engine,
        sessions=sessions,
        source_id=source_id,
        run_id=run_id,
        evidence_dir=Path(evidence or app.evidence_dir),  # type: ignore[union-attr]
    )
    setattr(crawler, _ATTR, ctx)
    crawler.stats.set_value("scamradar/run_id", run_id)
    return ctx
