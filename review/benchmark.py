"""``scamradar bench console``: how fast the review queue answers on a big database.

:func:`seed_console` fills a database through the storage functions (the same writes a crawl
makes): ``ads`` distinct ads over 90 days from six sources, ``hits`` of them flagged (two schemes,
five brands, seven rules), some reviewed. :func:`measure` signs in to the real app in-process and
times whole page requests (query + template), reporting the median per page.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.db import make_engine, session_factory
from storage.reviews import append_review
from storage.runs import get_or_create_source
from storage.sightings import AdSighting, HitData, attach_hits, record_sightings

BATCH = 2000
SOURCES = (
    ("tg-finance", "telegram"),
    ("tg-news", "telegram"),
    ("landing", "landing"),
    ("vk-search", "vk"),
    ("youtube", "youtube"),
    ("news-rss", "feeds"),
)
BRANDS = ("halyk", "kaspi", "bcc", "kazatomprom", "vi_group")
RULES = (
    "fake_investment.brand_platform",
    "fake_investment.promised_return",
    "fake_investment.endorsement",
    "fake_investment.task_scheme",
    "fake_investment.state_payout",
    "recovery_scam.paid_recovery",
    "recovery_scam.authority_payout",
)
WORDS = (
    "Халық Kaspi инвестиции доход пассивный ежемесячно гарантия вложите получите тенге қаражат "
    "табыс ақша салым бонус платформа брокер вернём деньги юрист акции дивиденды пишите директ "
    "ставка депозит кредит новости курс рынок"
).split()
PAGES: dict[str, str] = {
    "queue, first page": "/",
    "filtered: brand + status": "/?brand=kaspi&status=new",
    "filtered: scheme + rule + source": (
        "/?label=fake_investment&rule=fake_investment.endorsement&source=tg-finance"
    ),
    "filtered: date range": "/?since={since}&until={until}",
    "filtered: free text": "/?q=Kaspi%20Invest%2097",
    "sorted by score": "/?order=score",
    "page 200": "/?page=200",
}


def seed_console(
    url: str,
    *,
    ads: int = 200_000,
    hits: int = 50_000,
    rng_seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Fill the (migrated, empty) database at ``url``."""
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    engine = make_engine(url)
    Session = session_factory(engine)
    try:
        with Session.begin() as s:
            source_ids = [get_or_create_source(s, name, spider).id for name, spider in SOURCES]
        ad_ids: list[int] = []
        for start in range(0, ads, BATCH):
            per_source: dict[int, list[AdSighting]] = {}
            for n in range(start, min(ads, start + BATCH)):
                src = source_ids[n % len(source_ids)]
                seen = now - timedelta(seconds=rng.randrange(90 * 86400))
                words = rng.choices(WORDS, k=40)
                per_source.setdefault(src, []).append(
                    AdSighting(
                        spider=SOURCES[n % len(SOURCES)][1],
                        external_id=f"bench/{n}",
                        title=" ".join(rng.choices(WORDS, k=4)) + f" {n}",
                        text=" ".join(words) + (f" Kaspi Invest {n}" if n % 97 == 0 else ""),
                        url=f"https://t.me/bench/{n}",
                        landing_url=f"https://site{n % 3000}.example/?id={n}",
                        advertiser=f"Advertiser {n % 5000}",
                        seen_at=seen,
                    )
                )
            with Session.begin() as s:
                for src, batch in per_source.items():
                    ad_ids.extend(o.ad_id for o in record_sightings(s, src, batch))
            if progress:
                progress(f"ads {min(ads, start + BATCH)}/{ads}")
        flagged = rng.sample(ad_ids, min(hits, len(ad_ids)))
        for start in range(0, len(flagged), BATCH):
            verdicts = []
            for ad_id in flagged[start : start + BATCH]:
                recovery = rng.random() < 0.3
                verdicts.append(
                    (
                        ad_id,
                        HitData(
                            "recovery_scam" if recovery else "fake_investment",
                            round(rng.uniform(0.5, 1.0), 3),
                            "bench",
                            brands=()
                            if recovery
                            else tuple(rng.sample(BRANDS, rng.choice((1, 1, 2)))),
                            rules=[(rng.choice(RULES[5:] if recovery else RULES[:5]), 1)],
                            matches=[],
                        ),
                    )
                )
            with Session.begin() as s:
                attach_hits(s, verdicts)
            if progress:
                progress(f"hits {min(len(flagged), start + BATCH)}/{len(flagged)}")
        reviewed = flagged[: len(flagged) // 10]
        statuses = ("confirmed", "false_positive", "escalated", "taken_down")
        for start in range(0, len(reviewed), BATCH):
            with Session.begin() as s:
                for ad_id in reviewed[start : start + BATCH]:
                    append_review(s, ad_id, rng.choice(statuses), reviewer="bench")
        if progress:
            progress(f"reviews {len(reviewed)}")
        if engine.dialect.name == "postgresql":
            # What autovacuum does on a live database soon after such a load: statistics, and the
            # visibility map that index-only scans need. (SQLite gets no statistics: the queue's
            # queries are written to need none.)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE) ads, hits, hit_brands, hit_rules, reviews")
    finally:
        engine.dispose()


@dataclass(frozen=True)
class PageFigure:
    name: str
    path: str
    median_ms: float
    p90_ms: float
    rows: int
    cpu_median_ms: float  # CPU time of this process (app + SQLite; not a PostgreSQL server's)


def measure(url: str, *, runs: int = 20) -> list[PageFigure]:
    """Median and 90th-percentile latency of each page of :data:`PAGES`, signed in."""
    import re

    from fastapi.testclient import TestClient

    from crawler.config import AppSettings
    from review.accounts import create_user
    from review.app import create_app

    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as s:
            create_user(s, "bench-analyst", "bench-password-1", "analyst")
    finally:
        engine.dispose()
    today = datetime.now(UTC).date()
    fill = {
        "since": (today - timedelta(days=30)).isoformat(),
        "until": (today - timedelta(days=20)).isoformat(),
    }
    figures: list[PageFigure] = []
    with TestClient(create_app(AppSettings(database_url=url)), follow_redirects=False) as client:
        client.get("/login")
        client.post(
            "/login",
            data={
                "name": "bench-analyst",
                "password": "bench-password-1",
                "csrf": client.cookies.get("sr_presession"),
            },
        )
        for name, template in PAGES.items():
            path = template.format(**fill)
            r = client.get(path)  # warm-up (and the rule catalog's first load)
            if r.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {r.status_code}")
            times = []
            cpu = []
            for _ in range(runs):
                t0, c0 = time.perf_counter(), time.process_time()
                r = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            rows = len(re.findall(r'data-ad="\d+"', r.text))
            times.sort()
            figures.append(
                PageFigure(
                    name,
                    path,
                    statistics.median(times),
                    times[max(0, int(len(times) * 0.9) - 1)],
                    rows,
                    statistics.median(cpu),
                )
            )
    return figures
