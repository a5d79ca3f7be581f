"""Aggregates for the forecasting centre and the banks: the per-brand report, hits per day, and
source health. "Hits" are the ads' current hits (one per flagged ad), dated by when the ad was
first flagged; "new" ads in a brand report are those first seen in the period; days are Almaty
calendar days."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from review.i18n import local, timezone
from review.rulesinfo import RuleCatalog
from storage.allowlist import is_platform_domain
from storage.models import (
    FLAGGED_LABELS,
    Ad,
    AdIndicator,
    CrawlRun,
    Hit,
    HitBrand,
    HitRule,
    Indicator,
    Source,
    SourceAlert,
)

TOP = 15
MAX_TREND_SERIES = 8


def _brand_ads(stmt: Select[Any], brand: str) -> Select[Any]:
    return stmt.join(HitBrand, HitBrand.hit_id == Ad.hit_id).where(
        HitBrand.brand == brand, Ad.label.in_(FLAGGED_LABELS)
    )


def _counts(session: Session, column: Any, brand: str, *joins: Any) -> list[tuple[Any, int]]:
    stmt = _brand_ads(select(column, func.count()).select_from(Ad), brand)
    for target, on in joins:
        stmt = stmt.join(target, on)
    stmt = stmt.group_by(column).order_by(func.count().desc(), column)
    return [(k, n) for k, n in session.execute(stmt)]


@dataclass(frozen=True)
class Lookalike:
    domain: str
    ads: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class BrandReport:
    brand: str
    name: str
    generated_at: datetime
    total: int
    by_label: list[tuple[str, int]]
    by_rule: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    by_source: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    lookalikes: list[Lookalike]
    advertisers: list[tuple[str, int]]
    indicators: list[tuple[Indicator, int]]
    new_this_week: int
    new_week_before: int
    newest: list[Ad]


def brand_report(session: Session, brand: str, catalog: RuleCatalog, now: datetime) -> BrandReport:
    week_ago = now - timedelta(days=7)
    total = session.scalar(_brand_ads(select(func.count()).select_from(Ad), brand)) or 0
    domains = session.execute(
        _brand_ads(
            select(Ad.landing_domain, func.count(), func.min(Ad.first_seen), func.max(Ad.last_seen))
            .select_from(Ad)
            .where(Ad.landing_domain.is_not(None)),
            brand,
        )
        .group_by(Ad.landing_domain)
        .order_by(func.count().desc(), Ad.landing_domain)
    ).all()
    lookalikes = [
        Lookalike(d, n, first, last)
        for d, n, first, last in domains
        if not catalog.is_official(brand, d) and not is_platform_domain(d)
    ][:50]
    indicators = [
        (ind, n)
        for ind, n in session.execute(
            _brand_ads(select(Indicator, func.count()).select_from(Ad), brand)
            .join(AdIndicator, AdIndicator.ad_id == Ad.id)
            .join(Indicator, Indicator.id == AdIndicator.indicator_id)
            .group_by(Indicator.id)
            .order_by(func.count().desc(), Indicator.id)
            .limit(TOP)
        )
    ]

    def new_between(start: datetime, end: datetime) -> int:
        stmt = _brand_ads(select(func.count()).select_from(Ad), brand)
        return session.scalar(stmt.where(Ad.first_seen >= start, Ad.first_seen < end)) or 0

    newest = list(
        session.scalars(
            _brand_ads(select(Ad), brand)
            .where(Ad.first_seen >= week_ago)
            .order_by(Ad.first_seen.desc(), Ad.id.desc())
            .limit(25)
        )
    )
    return BrandReport(
        brand=brand,
        name=catalog.brand_name(brand),
        generated_at=now,
        total=total,
        by_label=_counts(session, Ad.label, brand),
        by_rule=_counts(session, HitRule.rule_id, brand, (HitRule, HitRule.hit_id == Ad.hit_id)),
        by_channel=_counts(session, Ad.spider, brand),
        by_source=_counts(session, Source.name, brand, (Source, Source.id == Ad.source_id)),
        by_status=_counts(session, Ad.status, brand),
        lookalikes=lookalikes,
        advertisers=[(a, n) for a, n in _counts(session, Ad.advertiser, brand) if a is not None][
            :TOP
        ],
        indicators=indicators,
        new_this_week=new_between(week_ago, now + timedelta(seconds=1)),
        new_week_before=new_between(week_ago - timedelta(days=7), week_ago),
        newest=newest,
    )


def brand_totals(session: Session) -> list[tuple[str, int]]:
    """Every brand with its number of flagged ads, most first."""
    stmt = (
        select(HitBrand.brand, func.count())
        .join(Ad, Ad.hit_id == HitBrand.hit_id)
        .where(Ad.label.in_(FLAGGED_LABELS))
        .group_by(HitBrand.brand)
        .order_by(func.count().desc(), HitBrand.brand)
    )
    return [(b, n) for b, n in session.execute(stmt)]


@dataclass(frozen=True)
class Trend:
    days: list[date]
    series: dict[str, list[int]]

    def rows(self) -> list[list[Any]]:
        return [
            [d.isoformat(), *(self.series[s][i] for s in self.series)]
            for i, d in enumerate(self.days)
        ]


def day_range(days: int, now: datetime) -> tuple[list[date], datetime]:
    today = local(now).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(), tzinfo=timezone()).astimezone(UTC)
    return [first + timedelta(days=i) for i in range(days)], start


def trend(
    session: Session, *, by: str, days: int, now: datetime, brand: str | None = None
) -> Trend:
    """Flagged ads per day, one series per label (``by="label"``) or per brand (the
    :data:`MAX_TREND_SERIES` - 1 biggest, the rest summed as ``other``)."""
    axis, start = day_range(days, now)
    index = {d: i for i, d in enumerate(axis)}
    if by == "label":
        stmt = select(Hit.created_at, Ad.label).select_from(Ad).join(Hit, Hit.id == Ad.hit_id)
    else:
        stmt = (
            select(Hit.created_at, HitBrand.brand)
            .select_from(Ad)
            .join(Hit, Hit.id == Ad.hit_id)
            .join(HitBrand, HitBrand.hit_id == Hit.id)
        )
    stmt = stmt.where(Ad.label.in_(FLAGGED_LABELS), Hit.created_at >= start)
    if brand:
        stmt = stmt.where(
            select(HitBrand.hit_id)
            .where(HitBrand.hit_id == Ad.hit_id, HitBrand.brand == brand)
            .exists()
        )
    counts: Counter[tuple[str, int]] = Counter()
    totals: Counter[str] = Counter()
    for created, key in session.execute(stmt.execution_options(yield_per=5000)):
        i = index.get(local(created).date())
        if i is not None:
            counts[(key, i)] += 1
            totals[key] += 1
    if by == "label":
        names = list(FLAGGED_LABELS)
    else:
        ranked = [k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
        names = ranked[: MAX_TREND_SERIES - 1] if len(ranked) > MAX_TREND_SERIES else ranked
    series = {name: [counts[(name, i)] for i in range(len(axis))] for name in names}
    rest = [k for k in totals if k not in series]
    if rest:
        series["other"] = [sum(counts[(k, i)] for k in rest) for i in range(len(axis))]
    return Trend(axis, series)


@dataclass(frozen=True)
class SourceHealth:
    source: Source
    last_run: CrawlRun | None
    runs_24h: int
    failed_24h: int


def source_health(session: Session, now: datetime) -> list[SourceHealth]:
    day_ago = now - timedelta(hours=24)
    latest = dict(
        session.execute(
            select(CrawlRun.source_id, func.max(CrawlRun.id)).group_by(CrawlRun.source_id)
        ).all()
    )
    runs = (
        {r.id: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(latest.values())))}
        if latest
        else {}
    )
    recent = session.execute(
        select(CrawlRun.source_id, CrawlRun.status, func.count())
        .where(CrawlRun.started_at >= day_ago)
        .group_by(CrawlRun.source_id, CrawlRun.status)
    ).all()
    per: dict[int, list[int]] = {}
    for source_id, status, n in recent:
        slot = per.setdefault(source_id, [0, 0])
        slot[0] += n
        if status in ("failed", "empty", "timeout", "interrupted"):
            slot[1] += n
    return [
        SourceHealth(s, runs.get(latest.get(s.id, -1)), *per.get(s.id, [0, 0]))
        for s in session.scalars(select(Source).order_by(Source.name))
    ]


def run_history(session: Session, source: str | None, limit: int = 100) -> list[CrawlRun]:
    stmt = select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit)
    if source:
        stmt = stmt.join(Source, Source.id == CrawlRun.source_id).where(Source.name == source)
    return list(session.scalars(stmt))


def alerts(session: Session, *, open_only: bool = True, limit: int = 100) -> list[SourceAlert]:
    stmt = select(SourceAlert).order_by(SourceAlert.opened_at.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(SourceAlert.closed_at.is_(None))
    return list(session.scalars(stmt))
