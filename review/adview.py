"""Everything the ad page shows: the ad, its hit explained, indicators shared with other ads,
sightings, evidence and the verdict history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review.highlight import highlight, spans_for
from review.rulesinfo import RuleCatalog, RuleInfo
from storage.allowlist import allowlisted, is_allowlisted
from storage.models import (
    Ad,
    AdIndicator,
    CrawlRun,
    Evidence,
    Hit,
    Indicator,
    Review,
)


@dataclass(frozen=True)
class FiredRule:
    id: str
    version: int
    info: RuleInfo | None

    @property
    def outdated(self) -> bool:
        return self.info is not None and self.info.version != self.version


@dataclass(frozen=True)
class SharedIndicator:
    indicator: Indicator
    other_ads: int


@dataclass(frozen=True)
class MatchedWord:
    text: str
    field: str
    signal: str
    brand: str
    rules: tuple[str, ...]


def summarise_matches(matches: list[dict[str, Any]]) -> list[MatchedWord]:
    """One line per matched word (field, signal, brand), with every rule that used it."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for m in matches:
        key = (
            str(m.get("text") or ""),
            str(m.get("field") or ""),
            str(m.get("signal") or ""),
            str(m.get("brand") or ""),
        )
        rules = grouped.setdefault(key, [])
        rule = str(m.get("rule") or "")
        if rule and rule not in rules:
            rules.append(rule)
    return [MatchedWord(*key, rules=tuple(rules)) for key, rules in grouped.items()]


@dataclass(frozen=True)
class AdView:
    ad: Ad
    hit: Hit | None
    title_html: Any
    text_html: Any
    matches: list[MatchedWord]
    rules: list[FiredRule]
    brands: list[str]
    indicators: list[SharedIndicator]
    evidence: list[Evidence]
    runs: list[CrawlRun]
    same_content: list[Ad]
    reviews: list[Review]
    allowlisted: bool


def load_ad_view(session: Session, ad_id: int, catalog: RuleCatalog) -> AdView | None:
    ad = session.get(Ad, ad_id)
    if ad is None:
        return None
    hit = session.get(Hit, ad.hit_id) if ad.hit_id else None
    matches = [m for m in (hit.matches if hit else []) if isinstance(m, dict)]
    title = ad.title or ""
    text = ad.text or ""
    rules = [
        FiredRule(r.rule_id, r.rule_version, catalog.rules.get(r.rule_id))
        for r in (hit.rules if hit else [])
    ]
    brands = [b.brand for b in hit.brands] if hit else []

    indicators = list(
        session.scalars(
            select(Indicator)
            .join(AdIndicator, AdIndicator.indicator_id == Indicator.id)
            .where(AdIndicator.ad_id == ad.id)
            .order_by(Indicator.kind, Indicator.value)
        )
    )
    counts: dict[int, int] = {}
    if indicators:
        counts = dict(
            session.execute(
                select(AdIndicator.indicator_id, func.count())
                .where(AdIndicator.indicator_id.in_([i.id for i in indicators]))
                .group_by(AdIndicator.indicator_id)
            ).all()
        )
    evidence = list(
        session.scalars(
            select(Evidence).where(Evidence.ad_id == ad.id).order_by(Evidence.fetched_at)
        )
    )
    run_ids = {e.crawl_run_id for e in evidence if e.crawl_run_id} | (
        {ad.last_run_id} if ad.last_run_id else set()
    )
    runs = (
        list(
            session.scalars(
                select(CrawlRun).where(CrawlRun.id.in_(run_ids)).order_by(CrawlRun.started_at)
            )
        )
        if run_ids
        else []
    )
    same = list(
        session.scalars(
            select(Ad)
            .where(Ad.content_hash == ad.content_hash, Ad.id != ad.id)
            .order_by(Ad.first_seen)
            .limit(50)
        )
    )
    reviews = list(
        session.scalars(
            select(Review).where(Review.ad_id == ad.id).order_by(Review.created_at, Review.id)
        )
    )
    domains, advertisers = allowlisted(session)
    return AdView(
        ad=ad,
        hit=hit,
        title_html=highlight(title, spans_for(matches, "title", len(title))),
        text_html=highlight(text, spans_for(matches, "text", len(text))),
        matches=summarise_matches(matches),
        rules=rules,
        brands=brands,
        indicators=[SharedIndicator(i, max(0, counts.get(i.id, 1) - 1)) for i in indicators],
        evidence=evidence,
        runs=runs,
        same_content=same,
        reviews=reviews,
        allowlisted=is_allowlisted(
            domains, advertisers, landing=ad.landing_domain, advertiser=ad.advertiser
        ),
    )


def ads_sharing(
    session: Session, indicator_id: int, limit: int = 500
) -> tuple[Indicator | None, list[Ad]]:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None:
        return None, []
    ads = list(
        session.scalars(
            select(Ad)
            .join(AdIndicator, AdIndicator.ad_id == Ad.id)
            .where(AdIndicator.indicator_id == indicator_id)
            .order_by(Ad.last_seen.desc())
            .limit(limit)
        )
    )
    return indicator, ads
