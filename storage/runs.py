"""Sources, crawl runs and source-health alerts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import RUN_STATUSES, CrawlRun, Source, SourceAlert, utcnow


def get_or_create_source(
    session: Session, name: str, spider: str, config: Mapping[str, Any] | None = None
) -> Source:
    """The source row for ``name``, made on first use; its spider and config follow the YAML."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, spider=spider, config=dict(config or {}))
        session.add(source)
        session.flush()
    elif source.spider != spider or (config is not None and source.config != dict(config)):
        source.spider = spider
        if config is not None:
            source.config = dict(config)
    return source


def open_crawl_run(session: Session, source: Source, *, pid: int | None = None) -> CrawlRun:
    run = CrawlRun(source_id=source.id, spider=source.spider, status="running", pid=pid)
    session.add(run)
    session.flush()
    return run


@dataclass(frozen=True, slots=True)
class RunCounts:
    items: int = 0
    ads_new: int = 0
    ads_seen_again: int = 0
    hits: int = 0
    errors: int = 0

    @classmethod
    def of(cls, run: CrawlRun) -> RunCounts:
        """The counts a run holds now (to close it without losing them)."""
        return cls(run.items, run.ads_new, run.ads_seen_again, run.hits, run.errors)


def close_crawl_run(
    session: Session,
    run_id: int,
    status: str,
    counts: RunCounts,
    *,
    stats: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> CrawlRun:
    """Close a run with its final status, counts, Scrapy stats and error text."""
    if status not in RUN_STATUSES or status == "running":
        raise ValueError(f"cannot close a run as {status!r}")
    run = session.get_one(CrawlRun, run_id)
    run.status = status
    run.finished_at = utcnow()
    run.items = counts.items
    run.ads_new = counts.ads_new
    run.ads_seen_again = counts.ads_seen_again
    run.hits = counts.hits
    run.errors = counts.errors
    run.stats = _json_safe(stats or {})
    run.error = error
    return run


def close_orphaned_runs(session: Session, *, reason: str) -> list[int]:
    """Close every run still marked ``running`` as ``interrupted`` (after a crash); returns ids."""
    ids = list(session.scalars(select(CrawlRun.id).where(CrawlRun.status == "running")))
    if ids:
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id.in_(ids))
            .values(status="interrupted", finished_at=utcnow(), error=reason)
            .execution_options(synchronize_session=False)
        )
    return ids


def open_alerts(session: Session) -> list[SourceAlert]:
    return list(
        session.scalars(
            select(SourceAlert)
            .where(SourceAlert.closed_at.is_(None))
            .order_by(SourceAlert.opened_at.desc())
        )
    )


def _json_safe(value: Any) -> Any:
    """Scrapy stats hold datetimes and other objects: keep them readable in a JSON column."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
