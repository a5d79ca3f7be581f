"""Fixtures of the console tests: a database seeded through the storage functions (on SQLite and
PostgreSQL), the app on it, and signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crawler.config import AppSettings
from crawler.evidence import WarcStore
from crawler.items import Capture
from review.accounts import create_user
from review.app import create_app
from review.config import ConsoleSettings
from storage.db import make_engine, session_factory
from storage.models import Indicator, SourceAlert
from storage.runs import RunCounts, close_crawl_run, get_or_create_source, open_crawl_run
from storage.sightings import (
    AdSighting,
    HitData,
    add_evidence,
    attach_hits,
    link_indicators,
    record_sightings,
)

PASSWORD = "correct horse battery staple"
HOSTILE_TITLE = "<script>window.__pwned='title'</script>Halyk Invest"
HOSTILE_TEXT = (
    "Halyk платформа: доход 5% в день! <img src=x onerror=\"window.__pwned='img'\"> "
    "<a href=\"javascript:window.__pwned='link'\">жми</a> "
    "</textarea><script>window.__pwned='ta'</script> "
    "' OR 1=1 -- ; DROP TABLE ads; %_\\"
)
HOSTILE_ADVERTISER = "\"><svg onload=window.__pwned='adv'>"
HOSTILE_PAGE = (
    b"<html><head><script>parent.__pwned='frame';top.__pwned='frame'</script></head>"
    b"<body onload=\"parent.__pwned='onload'\"><h1>Halyk Invest</h1><p>Zarabotok 5% v den</p>"
    b'<img src="http://127.0.0.1:9/beacon.gif">'
    b'<form action="https://evil.example/"><input name=p></form>'
    b"</body></html>"
)


@dataclass(frozen=True)
class Seeded:
    url: str
    evidence_dir: Path
    halyk: int
    kaspi: int
    recovery: int
    hostile: int
    legit: int
    old: int
    evidence_id: int
    phone_indicator: int


def _span(text: str, word: str) -> list[int]:
    m = re.search(re.escape(word), text)
    assert m, word
    return [m.start(), m.end()]


def seed(url: str, evidence_dir: Path) -> Seeded:
    """A small console database: two brands, both schemes, a hostile ad with a captured page,
    shared indicators, crawl runs and an open alarm."""
    engine = make_engine(url)
    Session = session_factory(engine)
    now = datetime.now(UTC)
    try:
        with Session.begin() as s:
            tg = get_or_create_source(s, "tg-main", "telegram")
            landing = get_or_create_source(s, "landing-pages", "landing")
            run = open_crawl_run(s, tg)
            halyk_text = "Halyk Invest: пассивный доход от 500 000 ₸ в месяц, пишите в директ"
            sightings = [
                AdSighting(
                    spider="telegram",
                    external_id="tg/1",
                    title="Halyk Invest",
                    text=halyk_text,
                    url="https://t.me/scam/1",
                    landing_url="https://halyk-invest.top/start",
                    advertiser="Halyk Invest Pro",
                    seen_at=now - timedelta(hours=1),
                ),
                AdSighting(
                    spider="telegram",
                    external_id="tg/2",
                    title="Kaspi Capital",
                    text="Kaspi Capital: вложите 50 000 и получайте 5% в день",
                    url="https://t.me/scam/2",
                    landing_url="https://kaspi-capital.top/",
                    advertiser="Kaspi Capital",
                    seen_at=now - timedelta(hours=2),
                ),
                AdSighting(
                    spider="telegram",
                    external_id="tg/3",
                    title=None,
                    text="Вернём деньги, украденные мошенниками. Юрист, гарантия возврата",
                    url="https://t.me/scam/3",
                    advertiser="Юрист Помощь",
                    seen_at=now - timedelta(hours=3),
                ),
                AdSighting(
                    spider="telegram",
                    external_id="tg/4",
                    title=HOSTILE_TITLE,
                    text=HOSTILE_TEXT,
                    url="javascript:alert(1)",
                    landing_url="https://halyk-bonus.xyz/",
                    advertiser=HOSTILE_ADVERTISER,
                    seen_at=now - timedelta(minutes=30),
                ),
                AdSighting(
                    spider="telegram",
                    external_id="tg/5",
                    title="Kaspi Депозит",
                    text="Депозит в Kaspi: ставка 14%",
                    url="https://kaspi.kz/deposit",
                    landing_url="https://kaspi.kz/deposit",
                    advertiser="Kaspi Bank",
                    seen_at=now - timedelta(hours=4),
                ),
            ]
            out = record_sightings(s, tg.id, sightings, run_id=run.id)
            halyk, kaspi, recovery, hostile, legit = (o.ad_id for o in out)
            old = record_sightings(
                s,
                landing.id,
                [
                    AdSighting(
                        spider="landing",
                        text="Halyk Group инвестиции, старый лендинг",
                        landing_url="https://halyk-old.site/",
                        advertiser="Old Halyk",
                        seen_at=now - timedelta(days=40),
                    ),
                ],
            )[0].ad_id
            rs = "test-rules"
            attach_hits(
                s,
                [
                    (
                        halyk,
                        HitData(
                            "fake_investment",
                            0.92,
                            rs,
                            brands=["halyk"],
                            rules=[("fake_investment.brand_platform", 1)],
                            matches=[
                                {
                                    "rule": "fake_investment.brand_platform",
                                    "brand": "halyk",
                                    "field": "text",
                                    "span": _span(halyk_text, "Halyk"),
                                    "text": "Halyk",
                                    "signal": "brand",
                                },
                                {
                                    "rule": "fake_investment.brand_platform",
                                    "brand": None,
                                    "field": "text",
                                    "start": _span(halyk_text, "пассивный доход")[0],
                                    "end": _span(halyk_text, "пассивный доход")[1],
                                    "text": "пассивный доход",
                                    "signal": "income_claim",
                                },
                            ],
                        ),
                    ),
                    (
                        kaspi,
                        HitData(
                            "fake_investment",
                            0.81,
                            rs,
                            brands=["kaspi"],
                            rules=[
                                ("fake_investment.brand_platform", 1),
                                ("fake_investment.promised_return", 1),
                            ],
                        ),
                    ),
                    (
                        recovery,
                        HitData(
                            "recovery_scam", 0.77, rs, rules=[("recovery_scam.paid_recovery", 1)]
                        ),
                    ),
                    (
                        hostile,
                        HitData(
                            "fake_investment",
                            0.66,
                            rs,
                            brands=["halyk"],
                            rules=[("fake_investment.brand_platform", 1)],
                            matches=[
                                {
                                    "rule": "fake_investment.brand_platform",
                                    "field": "text",
                                    "span": _span(HOSTILE_TEXT, "<img src=x onerror"),
                                    "text": "x",
                                }
                            ],
                        ),
                    ),
                    (legit, HitData("legit", 0.1, rs)),
                    (
                        old,
                        HitData(
                            "fake_investment",
                            0.7,
                            rs,
                            brands=["halyk"],
                            rules=[("fake_investment.endorsement", 1)],
                        ),
                    ),
                ],
            )
            link_indicators(s, halyk, [("phone", "+77011234567"), ("domain", "halyk-invest.top")])
            link_indicators(s, kaspi, [("phone", "+77011234567")])
            link_indicators(s, hostile, [("handle", "@<b>bold</b>")])
            phone = s.scalar(select(Indicator.id).where(Indicator.value == "+77011234567"))
            store = WarcStore(evidence_dir, "tg-main/test.warc.gz")
            ref = store.write(
                Capture(
                    url="https://halyk-bonus.xyz/",
                    status=200,
                    headers={"Content-Type": "text/html; charset=utf-8"},
                    body=HOSTILE_PAGE,
                    fetched_at=now - timedelta(minutes=30),
                    kind="landing",
                )
            )
            store.close()
            row = ref.row(hostile, run.id)
            row.pop("ad_id", None)
            ev = add_evidence(s, hostile, **row)
            close_crawl_run(s, run.id, "finished", RunCounts(items=5, ads_new=5, hits=4))
            failed = open_crawl_run(s, landing)
            close_crawl_run(
                s, failed.id, "failed", RunCounts(errors=3), error="<b>HTTP 500</b> from landing"
            )
            s.add(
                SourceAlert(
                    source_id=landing.id, reason="3 failed runs in a row <script>x</script>"
                )
            )
            evidence_id = ev.id
        return Seeded(
            url, evidence_dir, halyk, kaspi, recovery, hostile, legit, old, evidence_id, phone
        )
    finally:
        engine.dispose()


def add_user(url: str, name: str, role: str) -> None:
    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as s:
            create_user(s, name, PASSWORD, role)
    finally:
        engine.dispose()


@pytest.fixture
def seeded(fresh_db_url: str, tmp_path: Path) -> Seeded:
    data = seed(fresh_db_url, tmp_path / "evidence")
    add_user(fresh_db_url, "admin1", "admin")
    add_user(fresh_db_url, "analyst1", "analyst")
    return data


def make_client(
    seeded: Seeded, base_url: str = "http://testserver", **console: object
) -> TestClient:
    app = create_app(
        AppSettings(database_url=seeded.url, evidence_dir=seeded.evidence_dir),
        ConsoleSettings(**console),  # type: ignore[arg-type]
    )
    return TestClient(app, base_url=base_url, follow_redirects=False)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    client.get("/login")
    token = client.cookies.get("sr_presession")
    r = client.post("/login", data={"name": name, "password": password, "csrf": token, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return client


def csrf_of(client: TestClient, path: str = "/") -> str:
    html = client.get(path).text
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on " + path
    return m.group(1)


@pytest.fixture
def admin(seeded: Seeded) -> Iterator[TestClient]:
    with make_client(seeded) as client:
        yield sign_in(client, "admin1")


@pytest.fixture
def analyst(seeded: Seeded) -> Iterator[TestClient]:
    with make_client(seeded) as client:
        yield sign_in(client, "analyst1")


@pytest.fixture
def anonymous(seeded: Seeded) -> Iterator[TestClient]:
    with make_client(seeded) as client:
        yield client


class Kit:
    """The helpers above, for test modules (a test module cannot import this conftest by name:
    ``conftest`` is the top-level one)."""

    PASSWORD = PASSWORD
    HOSTILE_TITLE = HOSTILE_TITLE
    HOSTILE_TEXT = HOSTILE_TEXT
    HOSTILE_ADVERTISER = HOSTILE_ADVERTISER
    make_client = staticmethod(make_client)
    sign_in = staticmethod(sign_in)
    csrf_of = staticmethod(csrf_of)
    seed = staticmethod(seed)
    add_user = staticmethod(add_user)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit
