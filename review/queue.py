"""The review queue: what the analyst asked for (query parameters, checked), and the page of ads
with the counts per filter value. Built on :func:`storage.queries.filtered`, so that the queue,
its exports and ``scamradar export`` select the same ads; every value is a bound parameter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select
from sqlalchemy.orm import Session

from review.i18n import timezone
from storage.allowlist import allowlisted_clause
from storage.models import FLAGGED_LABELS, REVIEW_STATUSES, Ad, AllowlistEntry, HitBrand, HitRule
from storage.queries import ORDERS, AdFilter, filtered

PER_PAGE_CHOICES = (25, 50, 100, 200)
ALLOWLIST_MODES = ("hide", "show", "only")
MAX_TEXT = 200


@dataclass(frozen=True)
class QueueParams:
    label: str | None = None
    brand: str | None = None
    rule: str | None = None
    source: str | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None
    q: str | None = None
    order: str = "date"
    page: int = 1
    per_page: int = 50
    allowlisted: str = "hide"
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> QueueParams:
        """Read the queue's query parameters; a bad value is dropped and reported, never fatal."""
        problems: list[str] = []

        def text(name: str, limit: int = 100) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:limit] or None

        def choice(name: str, choices: Sequence[str], default: str | None = None) -> str | None:
            value = text(name)
            if value is None:
                return default
            if value not in choices:
                problems.append(name)
                return default
            return value

        def day(name: str) -> date | None:
            value = text(name, 20)
            if value is None:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                problems.append(name)
                return None

        def number(name: str, default: int) -> int:
            value = text(name, 12)
            if value is None:
                return default
            try:
                return max(1, int(value))
            except ValueError:
                problems.append(name)
                return default

        per_page = number("per_page", 50)
        if per_page not in PER_PAGE_CHOICES:
            per_page = 50
        brand = text("brand", 64)
        return cls(
            label=choice("label", FLAGGED_LABELS),
            brand=brand.lower() if brand else None,
            rule=text("rule"),
            source=text("source"),
            status=choice("status", REVIEW_STATUSES),
            since=day("since"),
            until=day("until"),
            q=text("q", MAX_TEXT),
            order=choice("order", ORDERS, "date") or "date",
            page=min(number("page", 1), 100_000),
            per_page=per_page,
            allowlisted=choice("allowlisted", ALLOWLIST_MODES, "hide") or "hide",
            problems=tuple(problems),
        )

    def ad_filter(self) -> AdFilter:
        """The same filter ``scamradar export`` takes; days are Almaty calendar days."""
        tz = timezone()
        since = (
            datetime.combine(self.since, time(), tzinfo=tz).astimezone(UTC) if self.since else None
        )
        until = (
            datetime.combine(self.until + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
            if self.until
            else None
        )
        return AdFilter(
            flagged_only=True,
            labels=(self.label,) if self.label else (),
            brand=self.brand,
            rule=self.rule,
            source=self.source,
            statuses=(self.status,) if self.status else (),
            since=since,
            until=until,
            text=self.q,
        )

    def is_filtered(self) -> bool:
        return (
            any(
                (
                    self.label,
                    self.brand,
                    self.rule,
                    self.source,
                    self.status,
                    self.since,
                    self.until,
                    self.q,
                )
            )
            or self.allowlisted != "hide"
        )


@dataclass(frozen=True)
class QueueRow:
    ad: Ad
    allowlisted: bool
    brands: list[str]
    rules: list[str]


@dataclass(frozen=True)
class QueueResult:
    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    by_status: dict[str, int]
    by_label: dict[str, int]
    allowlisted_hidden: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _with_allowlist(
    stmt: Select[Any], mode: str, clause: ColumnElement[bool] | None
) -> Select[Any]:
    if clause is None:
        return stmt if mode != "only" else stmt.where(false())
    if mode == "hide":
        return stmt.where(~clause)
    if mode == "only":
        return stmt.where(clause)
    return stmt


def _where(
    stmt: Select[Any],
    f: AdFilter,
    mode: str,
    clause: ColumnElement[bool] | None,
) -> Select[Any]:
    """``stmt`` filtered as :func:`storage.queries.filtered` does, and by the allowlist mode,
    with the date bounds wrapped in ``coalesce()`` (the same rows, faster): planners otherwise
    range over a date index and fetch every row in the range (or walk it backwards from today),
    where the covering ``ix_ads_queue`` answers from the index alone."""
    stmt = filtered(stmt, replace(f, since=None, until=None))
    if f.since:
        stmt = stmt.where(func.coalesce(Ad.last_seen, Ad.last_seen) >= f.since)
    if f.until:
        stmt = stmt.where(func.coalesce(Ad.first_seen, Ad.first_seen) < f.until)
    return _with_allowlist(stmt, mode, clause)


def _count(session: Session, f: AdFilter, mode: str, clause: ColumnElement[bool] | None) -> int:
    stmt = _where(select(func.count()).select_from(Ad), f, mode, clause)
    return session.scalar(stmt) or 0


def _tally(
    session: Session, f: AdFilter, p: QueueParams, clause: ColumnElement[bool] | None
) -> tuple[int, dict[str, int], dict[str, int]]:
    """The total and the counts per status and per label, from one query: grouped by (label,
    status) without those two filters, so that each facet counts as if its own filter were off."""
    stmt = _where(
        select(Ad.label, Ad.status, func.count()).select_from(Ad),
        replace(f, labels=(), statuses=()),
        p.allowlisted,
        clause,
    ).group_by(Ad.label, Ad.status)
    total = 0
    by_status: dict[str, int] = {}
    by_label: dict[str, int] = {}
    for label, status, n in session.execute(stmt):
        label_ok = p.label is None or label == p.label
        status_ok = p.status is None or status == p.status
        if label_ok and status_ok:
            total += n
        if label_ok:
            by_status[status] = by_status.get(status, 0) + n
        if status_ok and label is not None:
            by_label[label] = by_label.get(label, 0) + n
    return total, by_status, by_label


def _text_search(
    session: Session, f: AdFilter, p: QueueParams, clause: ColumnElement[bool] | None
) -> tuple[int, dict[str, int], dict[str, int], list[int]]:
    """Free text cannot use an index: read the texts once, keeping the few columns that the
    counts and the order need, and count, order and page in Python."""
    # On SQLite one sequential pass over the table beats a pass through the label index with a
    # random read of each row's text: ``label || ''`` keeps the planner off that index.
    label = Ad.label + "" if session.get_bind().dialect.name == "sqlite" else Ad.label
    stmt = _where(
        select(Ad.id, Ad.label, Ad.status, Ad.last_seen, Ad.score),
        replace(f, labels=(), statuses=(), flagged_only=False),
        p.allowlisted,
        clause,
    ).where(label.in_(FLAGGED_LABELS))
    by_status: dict[str, int] = {}
    by_label: dict[str, int] = {}
    hits: list[tuple[Any, ...]] = []
    for ad_id, label, status, last_seen, score in session.execute(stmt):
        label_ok = p.label is None or label == p.label
        status_ok = p.status is None or status == p.status
        if label_ok:
            by_status[status] = by_status.get(status, 0) + 1
        if status_ok and label is not None:
            by_label[label] = by_label.get(label, 0) + 1
        if label_ok and status_ok:
            hits.append((score if score is not None else -1.0, last_seen, ad_id))
    if p.order == "date":
        hits.sort(key=lambda h: (h[1], h[2]), reverse=True)
    else:
        hits.sort(reverse=True)
    start = (p.page - 1) * p.per_page
    return len(hits), by_status, by_label, [h[2] for h in hits[start : start + p.per_page]]


def run_queue(session: Session, p: QueueParams) -> QueueResult:
    f = p.ad_filter()
    has_allowlist = session.scalar(select(AllowlistEntry.id).limit(1)) is not None
    clause = allowlisted_clause() if has_allowlist else None
    if f.text:
        total, by_status, by_label, ids = _text_search(session, f, p, clause)
    else:
        total, by_status, by_label = _tally(session, f, p, clause)
        # Sorting on an expression keeps PostgreSQL from walking the date (or score) index
        # backwards in the hope of meeting the filter's rows soon: filters are often correlated
        # with dates (a past period, a source gone quiet), where that walk reads the whole table.
        # It reads the matching ids from the covering index and keeps the top rows instead.
        last_seen = func.coalesce(Ad.last_seen, Ad.last_seen)
        keys = (
            (last_seen.desc(), Ad.id.desc())
            if p.order == "date"
            else (func.coalesce(Ad.score, Ad.score).desc(), last_seen.desc(), Ad.id.desc())
        )
        # Page through ids first (read from indexes), then load the page's wide rows.
        id_stmt = (
            _where(select(Ad.id), f, p.allowlisted, clause)
            .order_by(*keys)
            .limit(p.per_page)
            .offset((p.page - 1) * p.per_page)
        )
        ids = list(session.scalars(id_stmt))
    loaded = {ad.id: ad for ad in session.scalars(select(Ad).where(Ad.id.in_(ids)))} if ids else {}
    covered: set[int] = set()
    if clause is not None and ids:
        covered = set(session.scalars(select(Ad.id).where(Ad.id.in_(ids), clause)))
    found = [(loaded[i], i in covered) for i in ids if i in loaded]
    hit_ids = [ad.hit_id for ad, _ in found if ad.hit_id is not None]
    brands = _grouped(session, HitBrand.hit_id, HitBrand.brand, hit_ids)
    rules = _grouped(session, HitRule.hit_id, HitRule.rule_id, hit_ids)
    rows = [
        QueueRow(ad, allowed, brands.get(ad.hit_id or 0, []), rules.get(ad.hit_id or 0, []))
        for ad, allowed in found
    ]
    hidden = 0
    if clause is not None and p.allowlisted == "hide":
        hidden = _count(session, f, "only", clause)
    return QueueResult(
        rows=rows,
        total=total,
        page=p.page,
        per_page=p.per_page,
        by_status=by_status,
        by_label=by_label,
        allowlisted_hidden=hidden,
    )


def _grouped(session: Session, key: Any, value: Any, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if ids:
        for k, v in session.execute(select(key, value).where(key.in_(ids)).order_by(key, value)):
            out.setdefault(k, []).append(v)
    return out


@dataclass(frozen=True)
class FilterChoices:
    brands: list[str]
    rules: list[str]
    sources: list[str]


def filter_choices(session: Session) -> FilterChoices:
    """The values the queue's drop-downs offer (distinct values, read from indexes)."""
    from storage.models import Source

    return FilterChoices(
        brands=list(session.scalars(select(HitBrand.brand).distinct().order_by(HitBrand.brand))),
        rules=list(session.scalars(select(HitRule.rule_id).distinct().order_by(HitRule.rule_id))),
        sources=list(session.scalars(select(Source.name).order_by(Source.name))),
    )
