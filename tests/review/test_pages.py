from __future__ import annotations

import csv
import io
import re
from typing import Any

from fastapi.testclient import TestClient


def test_ad_page_highlights_the_matched_words(analyst: TestClient, seeded: Any) -> None:
    html = analyst.get(f"/ads/{seeded.halyk}").text
    assert re.search(r"<mark title=\"[^\"]*brand_platform[^\"]*\">Halyk</mark>", html)
    assert "<mark" in html and ">пассивный доход</mark>" in html
    assert "fake_investment.brand_platform" in html and "v1" in html
    # the rule's description comes from the rule data
    assert "investment platform" in html
    assert "+77011234567" in html


def test_ad_page_escapes_every_scraped_string(analyst: TestClient, seeded: Any, kit: Any) -> None:
    html = analyst.get(f"/ads/{seeded.hostile}").text
    assert "<script>window.__pwned" not in html
    assert 'onerror="window' not in html and "<img src=x" not in html
    assert "<svg onload" not in html
    assert 'href="javascript:' not in html
    assert "</textarea><script>" not in html
    assert "&lt;script&gt;window.__pwned=&#39;title&#39;&lt;/script&gt;" in html
    # the highlighted span is escaped inside the mark, too
    assert '<mark title="fake_investment.brand_platform">&lt;img src=x onerror</mark>' in html
    assert "@&lt;b&gt;bold&lt;/b&gt;" in html
    # addresses from ads are never links
    assert "https://halyk-bonus.xyz/" in html and 'href="https://halyk-bonus.xyz' not in html


def test_indicator_links_to_the_other_ads_that_share_it(analyst: TestClient, seeded: Any) -> None:
    html = analyst.get(f"/ads/{seeded.halyk}").text
    assert f'href="/indicators/{seeded.phone_indicator}"' in html
    shared = analyst.get(f"/indicators/{seeded.phone_indicator}").text
    assert f'href="/ads/{seeded.kaspi}"' in shared and f'href="/ads/{seeded.halyk}"' in shared


def test_evidence_is_verified_and_shown_as_text_and_in_a_sandbox(
    analyst: TestClient, seeded: Any
) -> None:
    page = analyst.get(f"/evidence/{seeded.evidence_id}")
    assert 'id="integrity"' in page.text and "badge ok" in page.text
    assert "Zarabotok 5% v den" in page.text
    assert "parent.__pwned" not in page.text  # scripts are dropped from the text view
    assert '<iframe class="captured" sandbox=""' in page.text
    frame = analyst.get(f"/evidence/{seeded.evidence_id}/frame")
    csp = frame.headers["content-security-policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'self'" in csp
    assert frame.headers["content-type"].startswith("text/html")


def test_ad_page_shows_the_verdict_history_with_who_and_when(
    analyst: TestClient, seeded: Any, kit: Any
) -> None:
    token = kit.csrf_of(analyst)
    analyst.post(
        f"/ads/{seeded.halyk}/verdict",
        data={"status": "escalated", "note": "<b>to bank</b>", "csrf": token},
    )
    analyst.post(f"/ads/{seeded.halyk}/verdict", data={"status": "taken_down", "csrf": token})
    html = analyst.get(f"/ads/{seeded.halyk}").text
    history = html[html.index('id="verdicts"') :]
    assert history.count("analyst1") == 2
    assert "&lt;b&gt;to bank&lt;/b&gt;" in history
    assert 'id="ad-status">' in html


def test_brand_report_counts_schemes_channels_lookalikes_and_new_this_week(
    analyst: TestClient, seeded: Any
) -> None:
    html = analyst.get("/brands/halyk").text
    assert 'id="report-title"' in html
    assert "halyk-invest.top" in html and "halyk-bonus.xyz" in html
    assert re.search(r'id="new-week">2<', html)  # the 40-day-old ad is not new this week
    assert "Halyk Invest Pro" in html and "+77011234567" in html
    assert "telegram" in html and "landing" in html
    assert analyst.get("/brands").status_code == 200
    assert analyst.get("/brands/no-such-brand-here").status_code == 404


def test_trends_draw_a_chart_and_give_the_same_series_as_csv(analyst: TestClient) -> None:
    html = analyst.get("/trends?days=7").text
    assert html.count('<svg class="chart"') == 2 and "<polyline" in html
    rows = list(
        csv.reader(
            io.StringIO(analyst.get("/trends.csv?by=label&days=7").content.decode("utf-8-sig"))
        )
    )
    assert rows[0] == ["date", "fake_investment", "recovery_scam"]
    assert len(rows) == 8
    assert sum(int(r[1]) for r in rows[1:]) == 4  # every hit was made today
    by_brand = list(
        csv.reader(
            io.StringIO(analyst.get("/trends.csv?by=brand&days=30").content.decode("utf-8-sig"))
        )
    )
    assert set(by_brand[0][1:]) == {"halyk", "kaspi"}
    assert analyst.get("/trends.csv?by=nonsense").status_code == 400


def test_source_health_shows_run_history_and_open_alarms(analyst: TestClient) -> None:
    html = analyst.get("/sources").text
    assert "3 failed runs in a row &lt;script&gt;" in html
    assert "&lt;b&gt;HTTP 500&lt;/b&gt;" in html
    assert "tg-main" in html and "landing-pages" in html
    only = analyst.get("/sources?source=tg-main").text
    assert only[only.index('id="runs"') :].count("landing-pages") == 0


def test_the_interface_speaks_russian_by_default_and_remembers_the_choice(
    seeded: Any, kit: Any
) -> None:
    with kit.make_client(seeded) as client:
        assert 'lang="ru"' in client.get("/login").text
        kit.sign_in(client, "analyst1")
        assert "Очередь" in client.get("/").text
        token = kit.csrf_of(client)
        r = client.post("/locale", data={"lang": "kk", "next": "/brands", "csrf": token})
        assert r.status_code == 303 and r.headers["location"] == "/brands"
        assert 'lang="kk"' in client.get("/").text
    with kit.make_client(seeded) as again:  # a new browser: the choice is the user's
        kit.sign_in(again, "analyst1")
        html = again.get("/").text
        assert 'lang="kk"' in html and "Кезек" in html
        again.post("/locale", data={"lang": "en", "next": "/", "csrf": kit.csrf_of(again)})
        assert "Queue" in again.get("/").text


def test_dates_are_shown_in_almaty_time() -> None:
    from datetime import UTC, datetime

    from review.i18n import format_datetime

    assert format_datetime(datetime(2026, 11, 21, 20, 30, tzinfo=UTC)) == "2026-11-22 01:30"


def test_charts_escape_series_names_and_use_whole_ticks() -> None:
    from datetime import date, timedelta

    from review.charts import line_chart

    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(7)]
    svg = str(line_chart(days, {"<script>x</script>": [0, 1, 2, 3, 2, 1, 7]}, title="a&b"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&amp;b" in svg
    ticks = [t.split(">")[-1] for t in svg.split("</text>") if 'text-anchor="end"' in t]
    assert ticks == ["0", "2", "4", "6", "8"]


def test_evidence_that_no_longer_matches_its_sha256_is_flagged(
    analyst: TestClient, seeded: Any
) -> None:
    from sqlalchemy import update

    from storage.db import make_engine, session_factory
    from storage.models import Evidence

    engine = make_engine(seeded.url)
    try:
        with session_factory(engine).begin() as s:
            s.execute(
                update(Evidence).where(Evidence.id == seeded.evidence_id).values(sha256="0" * 64)
            )
    finally:
        engine.dispose()
    html = analyst.get(f"/evidence/{seeded.evidence_id}").text
    assert 'class="badge bad" id="integrity"' in html
