"""Recording what the crawlers saw: ad sightings, the rule engine's hits, indicators, evidence rows.

Every function works inside the caller's unit of work (``with Session.begin():``) and never
commits by itself, so a pipeline can write one item, or one batch, atomically.

The batch functions (:func:`record_sightings`, :func:`attach_hits`) write with Core statements on
the mapped tables rather than ORM bulk statements: the rows are plain dicts either way and no
ORM object is loaded, but the ORM's per-statement and per-row bookkeeping was a third of a crawl
batch's database time. Like an ORM statement, they flush the session's pending objects first.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from storage.models import (
    LABELS,
    Ad,
    AdIndicator,
    Evidence,
    Hit,
    HitBrand,
    HitRule,
    Indicator,
    utcnow,
)

# Large IN lists are split so that no backend meets its bound-parameter limit.
CHUNK = 500

_SPACE = re.compile(r"\s+")


def _table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def _autoflush(session: Session) -> None:
    """What an ORM statement does before it runs (Core statements skip it): write the session's
    pending objects, so that the batch sees them."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()


@dataclass(frozen=True, slots=True)
class AdSighting:
    """One ad as a spider saw it once. ``external_id`` is the source's own id, when it has one."""

    spider: str
    text: str
    title: str | None = None
    external_id: str | None = None
    url: str | None = None
    landing_url: str | None = None
    advertiser: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    seen_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """A fingerprint of what the ad says, blind to case, spacing and Unicode forms."""
        parts = [self.title or "", self.text or "", self.landing_url or self.url or ""]
        folded = [
            _SPACE.sub(" ", unicodedata.normalize("NFKC", p)).strip().casefold() for p in parts
        ]
        return hashlib.sha256("\x1f".join(folded).encode("utf-8")).hexdigest()

    def dedupe_key(self, content_hash: str | None = None) -> str:
        """The source's own id when there is one, else the content fingerprint."""
        if self.external_id:
            return hashlib.sha256(f"id\x1f{self.external_id}".encode()).hexdigest()
        return content_hash or self.content_hash()


@dataclass(frozen=True, slots=True)
class SightingOutcome:
    ad_id: int
    is_new: bool
    times_seen: int


def registrable_host(url: str | None) -> str | None:
    """The lower-case host of ``url`` (without ``www.``), or None when there is none."""
    if not url:
        return None
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    return host[4:] if host.startswith("www.") else host


def record_sightings(
    session: Session,
    source_id: int,
    sightings: Sequence[AdSighting],
    *,
    run_id: int | None = None,
) -> list[SightingOutcome]:
    """Record a batch of sightings of one source: a new ad becomes a row, an ad seen before has
    its ``times_seen`` and ``last_seen`` moved. Returns one outcome per sighting, in order."""
    now = utcnow()
    table = _table(Ad)
    _autoflush(session)
    hashes = [s.content_hash() for s in sightings]
    keys = [s.dedupe_key(h) for s, h in zip(sightings, hashes, strict=True)]
    existing: dict[str, tuple[int, int]] = {}
    unique_keys = list(dict.fromkeys(keys))
    for start in range(0, len(unique_keys), CHUNK):
        chunk = unique_keys[start : start + CHUNK]
        rows = session.execute(
            select(table.c.dedupe_key, table.c.id, table.c.times_seen).where(
                table.c.source_id == source_id, table.c.dedupe_key.in_(chunk)
            )
        )
        existing.update({key: (ad_id, seen) for key, ad_id, seen in rows})

    new_rows: list[dict[str, Any]] = []
    new_index: dict[str, int] = {}
    bumps: dict[str, list[datetime]] = {}
    for sighting, key, content_hash in zip(sightings, keys, hashes, strict=True):
        seen_at = sighting.seen_at or now
        if key in existing or key in new_index:
            bumps.setdefault(key, []).append(seen_at)
            continue
        new_index[key] = len(new_rows)
        new_rows.append(_new_ad_row(source_id, sighting, key, content_hash, seen_at, run_id))

    if new_rows:
        # Rows come back keyed by their (unique) dedupe key, so their order does not matter; an
        # ordered RETURNING would make SQLite insert them one statement per row.
        inserted = session.execute(
            insert(table).returning(table.c.dedupe_key, table.c.id), new_rows
        )
        for key, ad_id in inserted:
            existing[key] = (ad_id, 0)

    if bumps:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                times_seen=table.c.times_seen + bindparam("b_count"),
                last_seen=bindparam("b_last_seen"),
                last_run_id=bindparam("b_run_id"),
            ),
            [
                {
                    "b_id": existing[key][0],
                    "b_count": len(times),
                    "b_last_seen": max(times),
                    "b_run_id": run_id,
                }
                for key, times in bumps.items()
            ],
            execution_options={"synchronize_session": False},
        )

    outcomes: list[SightingOutcome] = []
    running: dict[str, int] = {}
    for key in keys:
        ad_id, before = existing[key]
        first_in_batch = key in new_index and key not in running
        count = running.get(key, before) + 1
        running[key] = count
        outcomes.append(SightingOutcome(ad_id=ad_id, is_new=first_in_batch, times_seen=count))
    return outcomes


def _new_ad_row(
    source_id: int,
    s: AdSighting,
    key: str,
    content_hash: str,
    seen_at: datetime,
    run_id: int | None,
) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "dedupe_key": key,
        "spider": s.spider,
        "external_id": s.external_id,
        "url": s.url,
        "landing_url": s.landing_url,
        "landing_domain": registrable_host(s.landing_url or s.url),
        "advertiser": (s.advertiser or None) and s.advertiser[:500],
        "title": s.title,
        "text": s.text or "",
        "language": s.language,
        "content_hash": content_hash,
        "extra": dict(s.extra),
        "cloaked": s.extra.get("cloaked") if isinstance(s.extra.get("cloaked"), bool) else None,
        "published_at": s.published_at,
        "first_seen": seen_at,
        "last_seen": seen_at,
        "times_seen": 1,
        "last_run_id": run_id,
        "status": "new",
    }


@dataclass(frozen=True, slots=True)
class HitData:
    """What the rule engine said of an ad: ``rules`` as (rule id, version) pairs."""

    label: str
    score: float
    ruleset_version: str
    brands: Sequence[str] = ()
    rules: Sequence[tuple[str, int]] = ()
    matches: Sequence[Mapping[str, Any]] = ()


def attach_hit(session: Session, ad_id: int, verdict: HitData) -> int | None:
    """Store the engine's verdict on one ad (see :func:`attach_hits`)."""
    return attach_hits(session, [(ad_id, verdict)])[ad_id]


def attach_hits(session: Session, verdicts: Sequence[tuple[int, HitData]]) -> dict[int, int | None]:
    """Store the engine's verdicts on ads, in bulk. A flagged verdict becomes the ad's hit (the
    hit of an earlier sighting is kept when the same rule-set version said the same thing, so
    that its date stays the date the ad was first flagged); a legit verdict clears the ad's
    current hit. The ad's ``label`` and ``score`` always follow the latest verdict.
    Returns each ad's hit id (None when legit)."""
    for _, verdict in verdicts:
        if verdict.label not in LABELS:
            raise ValueError(
                f"unknown label {verdict.label!r}; expected one of {', '.join(LABELS)}"
            )
    latest = dict(verdicts)
    flagged = {ad_id: v for ad_id, v in latest.items() if v.label != "legit"}
    hit_ids: dict[int, int | None] = dict.fromkeys(latest)
    hits = _table(Hit)
    _autoflush(session)

    current: dict[tuple[int, str], tuple[int, str]] = {}
    pairs = [(ad_id, v.ruleset_version) for ad_id, v in flagged.items()]
    for start in range(0, len(pairs), CHUNK):
        rows = session.execute(
            select(hits.c.ad_id, hits.c.ruleset_version, hits.c.id, hits.c.label).where(
                tuple_(hits.c.ad_id, hits.c.ruleset_version).in_(pairs[start : start + CHUNK])
            )
        )
        current.update({(a, rv): (hit_id, label) for a, rv, hit_id, label in rows})

    stale: list[int] = []
    fresh: list[tuple[int, HitData]] = []
    for ad_id, verdict in flagged.items():
        found = current.get((ad_id, verdict.ruleset_version))
        if found is not None and found[1] == verdict.label:
            hit_ids[ad_id] = found[0]
            continue
        if found is not None:
            stale.append(found[0])
        fresh.append((ad_id, verdict))
    if stale:
        session.execute(delete(Hit).where(Hit.id.in_(stale)))
    if fresh:
        hit_ids.update(_insert_hits(session, fresh))

    table = Ad.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(label=bindparam("b_label"), score=bindparam("b_score"), hit_id=bindparam("b_hit")),
        [
            {"b_id": ad_id, "b_label": v.label, "b_score": v.score, "b_hit": hit_ids[ad_id]}
            for ad_id, v in latest.items()
        ],
        execution_options={"synchronize_session": False},
    )
    return hit_ids


def _insert_hits(session: Session, fresh: list[tuple[int, HitData]]) -> dict[int, int]:
    now = utcnow()
    hits = _table(Hit)
    rows = session.execute(
        insert(hits).returning(hits.c.ad_id, hits.c.id),  # keyed by ad (one hit per ad here)
        [
            {
                "ad_id": ad_id,
                "label": v.label,
                "score": v.score,
                "ruleset_version": v.ruleset_version,
                "matches": [dict(m) for m in v.matches],
                "created_at": now,
            }
            for ad_id, v in fresh
        ],
    )
    made: dict[int, int] = {ad_id: hit_id for ad_id, hit_id in rows}
    brands = [
        {"hit_id": made[ad_id], "brand": brand}
        for ad_id, v in fresh
        for brand in dict.fromkeys(v.brands)
    ]
    rules = [
        {"hit_id": made[ad_id], "rule_id": rule_id, "rule_version": version}
        for ad_id, v in fresh
        for rule_id, version in dict(v.rules).items()
    ]
    if brands:
        session.execute(insert(_table(HitBrand)), brands)
    if rules:
        session.execute(insert(_table(HitRule)), rules)
    return made


def link_indicators(session: Session, ad_id: int, indicators: Iterable[tuple[str, str]]) -> int:
    """Link an ad to its indicators (kind, value), creating those never seen; returns how many
    links are new."""
    wanted = list(dict.fromkeys((k, v[:255]) for k, v in indicators if v))
    if not wanted:
        return 0
    found = dict(
        ((kind, value), ind_id)
        for ind_id, kind, value in session.execute(
            select(Indicator.id, Indicator.kind, Indicator.value).where(
                tuple_(Indicator.kind, Indicator.value).in_(wanted)
            )
        )
    )
    missing = [pair for pair in wanted if pair not in found]
    if missing:
        rows = session.execute(
            insert(Indicator).returning(
                Indicator.kind, Indicator.value, Indicator.id, sort_by_parameter_order=True
            ),
            [{"kind": k, "value": v, "first_seen": utcnow()} for k, v in missing],
        )
        found.update({(k, v): ind_id for k, v, ind_id in rows})
    linked = set(
        session.scalars(
            select(AdIndicator.indicator_id).where(
                AdIndicator.ad_id == ad_id, AdIndicator.indicator_id.in_(found.values())
            )
        )
    )
    links = [{"ad_id": ad_id, "indicator_id": i} for i in found.values() if i not in linked]
    if links:
        session.execute(insert(AdIndicator), links)
    return len(links)


def add_evidence(session: Session, ad_id: int, **fields: Any) -> Evidence:
    """Add an evidence row (url, fetched_at, sha256, warc_path, … as in :class:`Evidence`)."""
    evidence = Evidence(ad_id=ad_id, **fields)
    session.add(evidence)
    session.flush()
    return evidence
