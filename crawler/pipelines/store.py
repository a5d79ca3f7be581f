"""Store: write a batch of items to the database in one transaction.

A stage of the batch pipeline (:mod:`crawler.pipelines.batch`). Per batch: the sightings (a new
ad becomes a row, an ad seen again has its ``times_seen``/``last_seen`` moved, never a second
row), the rule engine's verdicts, the evidence rows, the indicators, and the landing queue (every
URL of ``links`` and ``landing_url``). The WARC file is synced before the rows that point into it
are committed.

Counters: ``storage/items``, ``storage/ads_new``, ``storage/ads_seen_again``, ``storage/hits``,
``storage/evidence_rows``, ``storage/landing_queued``, ``storage/indicator_links``,
``rules/allowlisted``.

The analysts' allowlist (:mod:`storage.allowlist`, filled from the console) is read once per
batch: an ad whose landing domain or advertiser it covers is stored as ``legit``, whatever the
rules said, and its current hit (if any) is cleared.

The statements are Core statements on the mapped tables (as in :mod:`storage.sightings`): the
session here holds no ORM object, and the ORM's bulk bookkeeping only cost time.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import configure_mappers

from crawler.items import AdItem
from storage.allowlist import allowlisted, is_allowlisted
from storage.landing import url_hash
from storage.models import AdIndicator, Evidence, Indicator, LandingTarget, utcnow
from storage.sightings import (
    AdSighting,
    HitData,
    attach_hits,
    record_sightings,
    registrable_host,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.evidence import WarcStore

CHUNK = 500  # keys per IN list: under every backend's bound-parameter limit


class BatchWriter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        source_id: int,
        run_id: int,
        ruleset: str,
        warc: WarcStore | None = None,
    ):
        self.sessions = sessions
        self.source_id = source_id
        self.run_id = run_id
        self.ruleset = ruleset
        self.warc = warc
        # The allowlist read is an ORM statement: map the models now, at start-up, rather than
        # in the crawl's first batch.
        configure_mappers()

    def write(self, batch: list[AdItem]) -> Counter[str]:
        """One transaction for the batch; returns the counters."""
        if self.warc is not None:
            self.warc.sync()  # the records must be on disk before rows point at them
        now = datetime.now(UTC)
        sightings = [
            AdSighting(
                spider=item.spider,
                text=item.text,
                title=item.title,
                external_id=item.external_id,
                url=item.url,
                landing_url=item.landing_url,
                advertiser=item.advertiser,
                language=item.language,
                published_at=item.published_at,
                seen_at=item.evidence[0].fetched_at if item.evidence else now,
                extra=item.extra,
            )
            for item in batch
        ]
        counts: Counter[str] = Counter()
        with self.sessions.begin() as session:
            outcomes = record_sightings(session, self.source_id, sightings, run_id=self.run_id)
            ad_ids = [o.ad_id for o in outcomes]
            counts["storage/items"] = len(batch)
            counts["storage/ads_new"] = sum(o.is_new for o in outcomes)
            counts["storage/ads_seen_again"] = len(outcomes) - counts["storage/ads_new"]
            counts["storage/hits"] = self._verdicts(session, batch, ad_ids, self.ruleset, counts)
            counts["storage/evidence_rows"] = self._evidence(session, batch, ad_ids, self.run_id)
            counts["storage/indicator_links"] = self._indicators(session, batch, ad_ids)
            counts["storage/landing_queued"] = self._landing(session, batch, ad_ids)
        return counts

    @staticmethod
    def _verdicts(
        session: Session,
        batch: list[AdItem],
        ad_ids: list[int],
        ruleset: str,
        counts: Counter[str],
    ) -> int:
        domains, advertisers = allowlisted(session)
        verdicts = []
        for item, ad_id in zip(batch, ad_ids, strict=True):
            v = item.verdict
            if v is None:
                continue
            if (domains or advertisers) and is_allowlisted(
                domains,
                advertisers,
                landing=item.landing_url or item.url,
                advertiser=item.advertiser,
            ):
                counts["rules/allowlisted"] += 1
                verdicts.append((ad_id, HitData(label="legit", score=1.0, ruleset_version=ruleset)))
                continue
            data = v.to_dict(ad_id)
            verdicts.append(
                (
                    ad_id,
                    HitData(
                        label=v.label,
                        score=float(v.score),
                        ruleset_version=ruleset,
                        brands=tuple(v.brands),
                        rules=tuple((r.id, r.version) for r in v.rules),
                        matches=tuple(data["matches"]),
                    ),
                )
            )
        if verdicts:
            attach_hits(session, verdicts)
        return sum(1 for _, v in verdicts if v.label != "legit")

    @staticmethod
    def _evidence(session: Session, batch: list[AdItem], ad_ids: list[int], run_id: int) -> int:
        evidence = Evidence.__table__
        rows = [
            ref.row(ad_id, run_id)
            for item, ad_id in zip(batch, ad_ids, strict=True)
            for ref in item.evidence
        ]
        if rows:
            session.execute(insert(evidence), rows)
        return len(rows)

    @staticmethod
    def _indicators(session: Session, batch: list[AdItem], ad_ids: list[int]) -> int:
        """Link each ad to its indicators, for the whole batch at once (the batch form of
        :func:`storage.sightings.link_indicators`: a few statements per batch, not per ad)."""
        indicators, ad_indicators = Indicator.__table__, AdIndicator.__table__
        wanted: dict[int, set[tuple[str, str]]] = {}
        for item, ad_id in zip(batch, ad_ids, strict=True):
            pairs = {(k, v[:255]) for k, v in item.indicators if v}
            if pairs:
                wanted.setdefault(ad_id, set()).update(pairs)
        if not wanted:
            return 0
        every = list({pair for pairs in wanted.values() for pair in pairs})
        found: dict[tuple[str, str], int] = {}
        for start in range(0, len(every), CHUNK):
            rows = session.execute(
                select(indicators.c.kind, indicators.c.value, indicators.c.id).where(
                    tuple_(indicators.c.kind, indicators.c.value).in_(every[start : start + CHUNK])
                )
            )
            found.update({(k, v): i for k, v, i in rows})
        missing = [pair for pair in every if pair not in found]
        if missing:
            now = utcnow()
            # keyed by (kind, value): no ordered RETURNING (on SQLite, one statement per row)
            rows = session.execute(
                insert(indicators).returning(
                    indicators.c.kind, indicators.c.value, indicators.c.id
                ),
                [{"kind": k, "value": v, "first_seen": now} for k, v in missing],
            )
            found.update({(k, v): i for k, v, i in rows})
        linked: set[tuple[int, int]] = set()
        ads = list(wanted)
        for start in range(0, len(ads), CHUNK):
            linked.update(
                (ad_id, indicator_id)
                for ad_id, indicator_id in session.execute(
                    select(ad_indicators.c.ad_id, ad_indicators.c.indicator_id).where(
                        ad_indicators.c.ad_id.in_(ads[start : start + CHUNK])
                    )
                )
            )
        links = [
            {"ad_id": ad_id, "indicator_id": found[pair]}
            for ad_id, pairs in wanted.items()
            for pair in pairs
            if (ad_id, found[pair]) not in linked
        ]
        if links:
            session.execute(insert(ad_indicators), links)
        return len(links)

    @staticmethod
    def _landing(session: Session, batch: list[AdItem], ad_ids: list[int]) -> int:
        """Queue every URL of ``links`` and ``landing_url`` not queued before, for the whole
        batch at once (the batch form of :func:`storage.landing.queue_landing_targets`); the
        target's origin is the kind of source that found it; a URL found in several ads keeps
        the first."""
        targets = LandingTarget.__table__
        wanted: dict[str, tuple[str, int, str]] = {}
        for item, ad_id in zip(batch, ad_ids, strict=True):
            for url in (item.landing_url, *item.links):
                url = (url or "").strip()
                if url and url != item.url:
                    wanted.setdefault(url_hash(url), (url, ad_id, item.spider))
        if not wanted:
            return 0
        hashes = list(wanted)
        known: set[str] = set()
        for start in range(0, len(hashes), CHUNK):
            known.update(
                session.scalars(
                    select(targets.c.url_hash).where(
                        targets.c.url_hash.in_(hashes[start : start + CHUNK])
                    )
                )
            )
        now = utcnow()
        rows = [
            {
                "url": url,
                "url_hash": h,
                "domain": registrable_host(url),
                "origin": spider,
                "origin_ad_id": ad_id,
                "status": "pending",
                "queued_at": now,
            }
            for h, (url, ad_id, spider) in wanted.items()
            if h not in known
        ]
        if rows:
            session.execute(insert(targets), rows)
        return len(rows)
