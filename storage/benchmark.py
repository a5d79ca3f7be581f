"""``scamradar bench storage``: how fast ad sightings are recorded, how flat export memory stays.

It writes into a throw-away database (a temporary SQLite file, or a temporary schema on the
PostgreSQL server given), never into the configured one.
"""

from __future__ import annotations

import os
import random
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.db import make_engine, session_factory
from storage.queries import AdFilter, iter_export_rows
from storage.runs import get_or_create_source
from storage.scratch import scratch_database
from storage.sightings import AdSighting, HitData, attach_hits, record_sightings

WORDS = (
    "Халық Kaspi инвест доход пассивный ежемесячно гарантия вложите получите ₸ тенге "
    "қаражат табыс ақша салым бонус платформа брокер вернём деньги юрист"
).split()


@dataclass(frozen=True)
class StorageFigures:
    backend: str
    sightings: int
    batch: int
    seconds: float
    new_ads: int
    export_rows: int
    export_seconds: float
    rss_before_export_mb: float
    rss_after_export_mb: float

    @property
    def per_second(self) -> float:
        return self.sightings / self.seconds if self.seconds else 0.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_sightings(
    n: int, *, repeat_share: float = 0.2, seed: int = 7
) -> Iterator[AdSighting]:
    """``n`` sightings of which about ``repeat_share`` are of ads already seen."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    made = 0
    for i in range(n):
        if made and rng.random() < repeat_share:
            ad_no = rng.randrange(made)
        else:
            ad_no = made
            made += 1
        words = random.Random(ad_no)
        yield AdSighting(
            spider="telegram",
            external_id=f"bench/{ad_no}",
            title=" ".join(words.choices(WORDS, k=5)),
            text=" ".join(words.choices(WORDS, k=60)),
            url=f"https://t.me/bench/{ad_no}",
            landing_url=f"https://site{ad_no % 500}.example/?id={ad_no}",
            advertiser=f"Advertiser {ad_no % 300}",
            seen_at=base + timedelta(seconds=i),
        )


def run(n: int, batch: int, url: str | None = None) -> StorageFigures:
    with scratch_database(url, prefix="sr_bench") as scratch:
        engine = make_engine(scratch)
        Session = session_factory(engine)
        with Session.begin() as session:
            source_id = get_or_create_source(session, "bench", "telegram").id
        pending: list[AdSighting] = []
        new_ads = 0
        flag = HitData("fake_investment", 0.9, "bench", brands=["halyk"], rules=[("bench", 1)])
        started = time.perf_counter()
        for sighting in synthetic_sightings(n):
            pending.append(sighting)
            if len(pending) >= batch:
                new_ads += _flush(Session, source_id, pending, flag)
                pending = []
        if pending:
            new_ads += _flush(Session, source_id, pending, flag)
        seconds = time.perf_counter() - started

        rss_before = _rss_mb()
        started = time.perf_counter()
        rows = 0
        with Session() as session, open(os.devnull, "w", encoding="utf-8") as sink:
            for row in iter_export_rows(session, AdFilter(flagged_only=False)):
                sink.write(str(row))
                rows += 1
        export_seconds = time.perf_counter() - started
        figures = StorageFigures(
            backend=engine.dialect.name,
            sightings=n,
            batch=batch,
            seconds=seconds,
            new_ads=new_ads,
            export_rows=rows,
            export_seconds=export_seconds,
            rss_before_export_mb=rss_before,
            rss_after_export_mb=_rss_mb(),
        )
        engine.dispose()
    return figures


def _flush(Session, source_id: int, batch: list[AdSighting], flag: HitData) -> int:  # type: ignore[no-untyped-def]
    with Session.begin() as session:
        outcomes = record_sightings(session, source_id, batch)
        fresh = [o for o in outcomes if o.is_new]
        # one new ad in ten is flagged, as a crawl would do
        attach_hits(session, [(o.ad_id, flag) for o in fresh[::10]])
    return len(fresh)
