"""Reading the database: the flagged-ads queue with filters and paging, exports, statistics.

Filter values arrive from analysts (CLI, console): they are always bound parameters, never
formatted into SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Select, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from storage.models import (
    FLAGGED_LABELS,
    Ad,
    Hit,
    HitBrand,
    HitRule,
    Source,
    SourceAlert,
)

EXPORT_FIELDS = (
    "id",
    "source",
    "spider",
    "external_id",
    "url",
    "landing_url",
    "advertiser",
    "title",
    "text",
    "label",
    "score",
    "brands",
    "rules",
    "status",
    "first_seen",
    "last_seen",
    "times_seen",
)

ORDERS = ("date", "score")


@dataclass(frozen=True)
class AdFilter:
    """What an analyst asked for. ``flagged_only`` keeps the ads the rules flagged."""

    flagged_only: bool = True
    labels: Sequence[str] = ()
    brand: str | None = None
    rule: str | None = None
    source: str | None = None
    statuses: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    ad_ids: Sequence[int] = field(default=())


class contains_ci(FunctionElement[bool]):  # noqa: N801 - reads like the SQL it writes
    """``column LIKE pattern ESCAPE '\\'`` without regard to case: ``ILIKE`` on PostgreSQL, plain
    ``LIKE`` on SQLite (whose ``LIKE`` already ignores case, for ASCII letters only, and whose
    ``lower()`` — what ``ilike`` becomes there — folds nothing more, only slower)."""

    type = Boolean()
    inherit_cache = True
    name = "contains_ci"


@compiles(contains_ci)
def _contains_ci(element: contains_ci, compiler: Any, **kw: Any) -> str:
    column, pattern = element.clauses
    return f"({compiler.process(column, **kw)} ILIKE {compiler.process(pattern, **kw)} ESCAPE '\\')"


@compiles(contains_ci, "sqlite")
def _contains_ci_sqlite(element: contains_ci, compiler: Any, **kw: Any) -> str:
    column, pattern = element.clauses
    return f"({compiler.process(column, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '\\')"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(stmt: Select[Any], f: AdFilter) -> Select[Any]:
    """Apply a filter to a statement that selects from ``ads``."""
    if f.flagged_only:
        stmt = stmt.where(Ad.label.in_(FLAGGED_LABELS))
    if f.labels:
        stmt = stmt.where(Ad.label.in_(list(f.labels)))
    if f.statuses:
        stmt = stmt.where(Ad.status.in_(list(f.statuses)))
    if f.brand:
        stmt = stmt.where(exists().where(HitBrand.hit_id == Ad.hit_id, HitBrand.brand == f.brand))
    if f.rule:
        stmt = stmt.where(exists().where(HitRule.hit_id == Ad.hit_id, HitRule.rule_id == f.rule))
    if f.source:
        stmt = stmt.where(
            Ad.source_id == select(Source.id).where(Source.name == f.source).scalar_subquery()
        )
    if f.since:
        stmt = stmt.where(Ad.last_seen >= f.since)
    if f.until:
        stmt = stmt.where(Ad.first_seen < f.until)
    if f.text:
        pattern = f"%{_escape_like(f.text)}%"
        stmt = stmt.where(
            or_(
                contains_ci(Ad.title, pattern),
                contains_ci(Ad.text, pattern),
                contains_ci(Ad.advertiser, pattern),
            )
        )
    if f.ad_ids:
        stmt = stmt.where(Ad.id.in_(list(f.ad_ids)))
    return stmt


@dataclass(frozen=True)
class AdPage:
    ads: list[Ad]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def query_ads(
    session: Session, f: AdFilter, *, page: int = 1, per_page: int = 50, order: str = "date"
) -> AdPage:
    """One page of ads matching ``f``, newest (or highest score) first."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    page = max(1, page)
    total = session.scalar(filtered(select(func.count()).select_from(Ad), f)) or 0
    keys = (
        (Ad.last_seen.desc(), Ad.id.desc())
        if order == "date"
        else (Ad.score.desc(), Ad.last_seen.desc(), Ad.id.desc())
    )
    stmt = filtered(select(Ad), f).order_by(*keys).limit(per_page).offset((page - 1) * per_page)
    return AdPage(list(session.scalars(stmt)), total, page, per_page)


def iter_export_rows(
    session: Session, f: AdFilter, *, batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every ad matching ``f`` as a flat dict of :data:`EXPORT_FIELDS`, streamed in batches so
    that memory stays flat however large the database."""
    stmt = (
        filtered(
            select(
                Ad.id,
                Source.name,
                Ad.spider,
                Ad.external_id,
                Ad.url,
                Ad.landing_url,
                Ad.advertiser,
                Ad.title,
                Ad.text,
                Ad.label,
                Ad.score,
                Ad.hit_id,
                Ad.status,
                Ad.first_seen,
                Ad.last_seen,
                Ad.times_seen,
            ).join(Source, Source.id == Ad.source_id),
            f,
        )
        .order_by(Ad.id)
        .execution_options(yield_per=batch)
    )
    result = session.execute(stmt)
    for rows in result.partitions():
        hit_ids = [r.hit_id for r in rows if r.hit_id is not None]
        brands = _group(session, select(HitBrand.hit_id, HitBrand.brand), HitBrand.hit_id, hit_ids)
        rules = _group(session, select(HitRule.hit_id, HitRule.rule_id), HitRule.hit_id, hit_ids)
        for r in rows:
            yield {
                "id": r.id,
                "source": r.name,
                "spider": r.spider,
                "external_id": r.external_id,
                "url": r.url,
                "landing_url": r.landing_url,
                "advertiser": r.advertiser,
                "title": r.title,
                "text": r.text,
                "label": r.label,
                "score": r.score,
                "brands": brands.get(r.hit_id, []),
                "rules": rules.get(r.hit_id, []),
                "status": r.status,
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
                "times_seen": r.times_seen,
            }


def _group(session: Session, stmt: Select[Any], key: Any, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if ids:
        for hit_id, value in session.execute(
            stmt.where(key.in_(ids)).order_by(*stmt.selected_columns)
        ):
            out.setdefault(hit_id, []).append(value)
    return out


def stats(session: Session) -> dict[str, Any]:
    """Counts for ``scamradar stats``: ads, flagged ads by label and brand, verdicts, alarms."""
    by_label: dict[str, int] = dict(
        session.execute(
            select(Ad.label, func.count()).where(Ad.label.is_not(None)).group_by(Ad.label)
        ).all()
    )
    by_brand: dict[str, int] = dict(
        session.execute(
            select(HitBrand.brand, func.count())
            .join(Ad, Ad.hit_id == HitBrand.hit_id)
            .group_by(HitBrand.brand)
            .order_by(func.count().desc(), HitBrand.brand)
        ).all()
    )
    by_status: dict[str, int] = dict(
        session.execute(
            select(Ad.status, func.count()).where(Ad.label.in_(FLAGGED_LABELS)).group_by(Ad.status)
        ).all()
    )
    alarms = [
        {"source": a.source.name, "since": a.opened_at.isoformat(), "reason": a.reason}
        for a in session.scalars(
            select(SourceAlert).where(SourceAlert.closed_at.is_(None)).order_by(SourceAlert.id)
        )
    ]
    return {
        "ads": session.scalar(select(func.count()).select_from(Ad)) or 0,
        "sightings": session.scalar(select(func.coalesce(func.sum(Ad.times_seen), 0))) or 0,
        "flagged": sum(n for label, n in by_label.items() if label in FLAGGED_LABELS),
        "hits_by_label": {label: by_label.get(label, 0) for label in FLAGGED_LABELS},
        "hits_by_brand": by_brand,
        "flagged_by_status": by_status,
        "sources": session.scalar(select(func.count()).select_from(Source)) or 0,
        "hits_total": session.scalar(select(func.count()).select_from(Hit)) or 0,
        "open_alarms": alarms,
    }
