from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-ad="(\d+)"', html)]


def test_queue_lists_flagged_ads_newest_first(analyst: TestClient, seeded: Any) -> None:
    ids = _ids(analyst.get("/").text)
    assert ids == [seeded.hostile, seeded.halyk, seeded.kaspi, seeded.recovery, seeded.old]
    assert seeded.legit not in ids


def test_queue_sorts_by_score(analyst: TestClient, seeded: Any) -> None:
    ids = _ids(analyst.get("/?order=score").text)
    assert ids == [seeded.halyk, seeded.kaspi, seeded.recovery, seeded.old, seeded.hostile]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("label=recovery_scam", ["recovery"]),
        ("brand=kaspi", ["kaspi"]),
        ("brand=HALYK", ["hostile", "halyk", "old"]),
        ("rule=fake_investment.promised_return", ["kaspi"]),
        ("rule=fake_investment.endorsement", ["old"]),
        ("source=landing-pages", ["old"]),
        ("q=Kaspi", ["kaspi"]),
        ("q=%D0%AE%D1%80%D0%B8%D1%81%D1%82", ["recovery"]),  # "Юрист"
        ("q=" + "%25_%5C", ["hostile"]),  # the literal "%_\" is searched for, not a wildcard
    ],
)
def test_queue_filters(analyst: TestClient, seeded: Any, query: str, expected: list[str]) -> None:
    ids = _ids(analyst.get("/?" + query).text)
    assert ids == [getattr(seeded, name) for name in expected]


def test_queue_filters_by_status_and_date_range(analyst: TestClient, seeded: Any, kit: Any) -> None:
    token = kit.csrf_of(analyst)
    analyst.post(f"/ads/{seeded.kaspi}/verdict", data={"status": "escalated", "csrf": token})
    assert _ids(analyst.get("/?status=escalated").text) == [seeded.kaspi]
    assert seeded.kaspi not in _ids(analyst.get("/?status=new").text)
    from datetime import UTC, datetime, timedelta

    from review.i18n import local

    old_day = local(datetime.now(UTC) - timedelta(days=40)).date()
    assert _ids(analyst.get(f"/?until={old_day.isoformat()}").text) == [seeded.old]
    assert seeded.old not in _ids(
        analyst.get(f"/?since={(old_day + timedelta(days=2)).isoformat()}").text
    )


@pytest.mark.parametrize(
    "evil",
    [
        "' OR '1'='1",
        "'; DROP TABLE ads; --",
        '" OR 1=1 --',
        "1) UNION SELECT password_hash FROM users --",
        "%",
        "_",
        "\\",
        "halyk' --",
    ],
)
def test_sql_metacharacters_in_filters_are_plain_values(
    analyst: TestClient, seeded: Any, evil: str
) -> None:
    for field in ("q", "brand", "rule", "source", "label", "status", "since", "order", "page"):
        r = analyst.get("/", params={field: evil})
        assert r.status_code == 200, (field, evil)
        assert "argon2" not in r.text
        ids = _ids(r.text)
        if field in ("brand", "rule", "source") or (field == "q" and evil not in ("\\",)):
            assert seeded.halyk not in ids, (field, evil)
    # and nothing was dropped
    assert len(_ids(analyst.get("/").text)) == 5


def test_invalid_filter_values_are_reported_not_fatal(analyst: TestClient) -> None:
    r = analyst.get("/?label=bogus&since=yesterday&page=x")
    assert r.status_code == 200
    assert "label" in r.text and "since" in r.text


def test_queue_pages(analyst: TestClient, seeded: Any) -> None:
    first = analyst.get("/?per_page=25")
    assert len(_ids(first.text)) == 5
    far = analyst.get("/?page=99")
    assert _ids(far.text) == []


def test_queue_shows_counts_per_filter_value(analyst: TestClient) -> None:
    html = analyst.get("/?label=fake_investment").text
    assert re.search(r"label=recovery_scam[^>]*>[^<]*<b>1</b>", html)
    assert re.search(r"label=fake_investment[^>]*>[^<]*<b>4</b>", html)
    assert re.search(r"status=new[^>]*>[^<]*<b>4</b>", html)


def test_bulk_verdicts_apply_to_the_selected_ads(
    analyst: TestClient, seeded: Any, kit: Any
) -> None:
    token = kit.csrf_of(analyst)
    r = analyst.post(
        "/ads/bulk",
        data={
            "ad": [seeded.kaspi, seeded.recovery],
            "status": "confirmed",
            "note": "bulk",
            "csrf": token,
            "next": "/?status=new",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/?status=new"
    assert _ids(analyst.get("/?status=confirmed").text) == [seeded.kaspi, seeded.recovery]
    page = analyst.get(f"/ads/{seeded.kaspi}").text
    assert "analyst1" in page and "bulk" in page
    r = analyst.post("/ads/bulk", data={"ad": [seeded.kaspi], "status": "new", "csrf": token})
    assert r.status_code == 400


def test_false_positive_with_allowlist_hides_the_ad_and_its_domain(
    analyst: TestClient, seeded: Any, kit: Any
) -> None:
    token = kit.csrf_of(analyst)
    r = analyst.post(
        f"/ads/{seeded.kaspi}/verdict",
        data={
            "status": "false_positive",
            "note": "real Kaspi partner",
            "allow_domain": "true",
            "csrf": token,
        },
    )
    assert r.status_code == 303
    ids = _ids(analyst.get("/").text)
    assert seeded.kaspi not in ids
    assert _ids(analyst.get("/?allowlisted=only").text) == [seeded.kaspi]
    assert "kaspi-capital.top" in analyst.get("/allowlist").text
    assert "badge allow" in analyst.get(f"/ads/{seeded.kaspi}").text


def test_exports_are_the_same_as_scamradar_export(analyst: TestClient, seeded: Any) -> None:
    import io

    from crawler.cli.export import write_csv, write_jsonl
    from storage.db import make_engine, session_factory
    from storage.queries import AdFilter, iter_export_rows

    engine = make_engine(seeded.url)
    try:
        with session_factory(engine)() as s:
            csv_buf, jsonl_buf = io.StringIO(newline=""), io.StringIO()
            write_csv(iter_export_rows(s, AdFilter(brand="halyk")), csv_buf)
            write_jsonl(iter_export_rows(s, AdFilter(brand="halyk")), jsonl_buf)
    finally:
        engine.dispose()
    r = analyst.get("/export.csv?brand=halyk&page=2")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.decode("utf-8-sig") == csv_buf.getvalue()
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert analyst.get("/export.jsonl?brand=halyk").text == jsonl_buf.getvalue()
    assert len(jsonl_buf.getvalue().splitlines()) == 3


def test_a_bulk_verdict_can_cover_the_whole_page(
    analyst: TestClient, seeded: Any, kit: Any
) -> None:
    html = analyst.get("/?label=recovery_scam").text
    token = kit.csrf_of(analyst, "/?label=recovery_scam")
    page_ids = [int(x) for x in re.findall(r'name="page_ad" value="(\d+)"', html)]
    assert page_ids == [seeded.recovery]
    r = analyst.post(
        "/ads/bulk",
        data={"page_ad": page_ids, "scope": "page", "status": "escalated", "csrf": token},
    )
    assert r.status_code == 303
    assert _ids(analyst.get("/?status=escalated").text) == [seeded.recovery]
