"""Landing pages shaped unlike the shared fixtures, crawled against the local fixture server.

The pages are in ``tests/fixtures/variants/`` (README there): a kit with no ``<form>`` element
(bare fields posted by a script), its charset only in ``<meta http-equiv>``, pixels written in
other script styles, messenger links in several spellings; a quoted meta-refresh hop; a
JavaScript redirect. Bodies are sent compressed (gzip, brotli) as real servers do.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest
from landing.support import page

pytestmark = pytest.mark.slow  # each test runs a crawl in a subprocess

VARIANTS = Path(__file__).resolve().parents[1] / "fixtures" / "variants"


def variant(name: str) -> bytes:
    return (VARIANTS / name).read_bytes()


def test_a_formless_kit_in_cp1251_sent_with_brotli_yields_its_form_pixels_and_contacts(
    run_landing, http_server
) -> None:
    http_server.route(
        "/halyk/",
        body=brotli.compress(variant("landing_formless_cp1251.html")),
        content_type="text/html",  # no charset: only <meta http-equiv> names windows-1251
        headers={"Content-Encoding": "br"},
    )

    result = run_landing(urls=[http_server.url("/halyk/?sub1=fb_1&fbclid=IwAR0")])

    (item,) = result.items
    extra = item["extra"]
    assert item["title"] == "Халык Инвест — получите доход от 500 000 ₸"
    assert extra["charset"] == "cp1251"
    (form,) = extra["forms"]
    assert form["method"] == "script" and form["action"] is None
    assert [f["name"] for f in form["fields"]] == ["name", "phone", "sub1", "offer_id"]
    assert form["tracking_fields"] == ["offer_id", "sub1"]
    assert extra["pixels"] == {
        "meta": ["778899001122334"],
        "yandex_metrika": ["55667788"],
        "tiktok": ["CFIXTURE7TT0PIXEL"],
        "google": ["AW-1122334455"],
        "vk": ["VK-RTRG-1234567-ABCDE"],
    }
    assert [m["handle"] for m in extra["messengers"]] == [
        "+77000002233",
        "message/FIXTUREQRCODE1",
        "@halyk_news_variants_demo",
        "+AbCdEfFIXTURE",
        "+77000003344",
    ]
    assert extra["phones"] == ["+77000001122"]  # tel:8700… read with KZ's national prefix
    assert extra["js_redirects"] == ["https://halyk-invest-thanks.example/ok"]


def test_a_bot_shown_no_fields_where_a_phone_got_bare_lead_fields_is_cloaking(
    run_landing, http_server
) -> None:
    def handle(request):  # type: ignore[no-untyped-def]
        mobile = "Mobile" in request.headers.get("User-Agent", "")
        body = variant("landing_formless_cp1251.html") if mobile else page("whitepage")
        return 200, {"Content-Type": "text/html"}, body

    http_server.route("/halyk/", handler=handle)

    result = run_landing(urls=[http_server.url("/halyk/?sub1=fb_1")])

    (item,) = result.items
    assert item["extra"]["cloaked"] is True
    assert "form on the mobile page only" in item["extra"]["cloak"]["reasons"]


def test_a_quoted_meta_refresh_to_a_gzipped_page_is_followed(run_landing, http_server) -> None:
    http_server.route("/go", body=variant("landing_meta_refresh.html"), content_type="text/html")
    http_server.route(
        "/offer/money.html",
        body=gzip.compress(page("recovery")),
        content_type="text/html; charset=utf-8",
        headers={"Content-Encoding": "gzip"},
    )

    result = run_landing(urls=[http_server.url("/go?fbclid=IwAR1")])

    (item,) = result.items
    assert item["extra"]["redirect_chain"] == [
        http_server.url("/go?fbclid=IwAR1"),
        http_server.url("/offer/money.html?sub1=fb_22"),
    ]
    assert item["extra"]["redirect_statuses"] == ["meta refresh"]
    assert item["extra"]["forms"] and item["extra"]["messengers"]


def test_a_javascript_redirect_is_recorded_not_followed(run_landing, http_server) -> None:
    http_server.route("/js", body=variant("landing_js_redirect.html"), content_type="text/html")

    result = run_landing(urls=[http_server.url("/js")])

    (item,) = result.items
    assert item["extra"]["js_redirects"] == ["https://kaspi-invest-real.example/start?ref=77"]
    assert item["extra"]["redirect_chain"] == [http_server.url("/js")]
    assert [r.path for r in result.requests] == ["/js", "/js"]  # phone, then bot; nothing more
