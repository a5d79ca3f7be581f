"""Landing crawls against the local fixture server, each in a subprocess (crawl_runner.py).

The runner uses the project's Scrapy settings with a dump pipeline in place of the storage
pipelines, and a resolver that maps chosen host names to 127.0.0.1 (the stand-in for DNS).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from landing.support import cloaking_handler, page
from sqlalchemy import update

from storage.db import make_engine, session_factory
from storage.models import LandingTarget, utcnow

HTML = "text/html; charset=utf-8"
pytestmark = pytest.mark.slow  # each test runs a crawl in a subprocess


def test_a_cloaked_prelander_is_fetched_twice_and_flagged(run_landing, http_server) -> None:
    http_server.route("/news/", handler=cloaking_handler(page("prelander"), page("whitepage")))
    url = http_server.url("/news/?sub1=fb_17&fbclid=IwAR0demo&offer=7")

    result = run_landing(urls=[url])

    (item,) = result.items
    assert item["spider"] == "landing" and item["source"] == "landing_test"
    assert item["title"].startswith("Новости Казахстана")
    assert item["external_id"] == http_server.url("/news/?offer=7")
    assert item["extra"]["cloaked"] is True
    assert "form on the mobile page only" in item["extra"]["cloak"]["reasons"]
    assert item["extra"]["pixels"]["yandex_metrika"] == ["90000001"]
    assert item["extra"]["forms"][0]["hidden"]["offer_id"] == "kzt-uran-042"
    assert item["extra"]["bot"]["title"] == "Домашняя выпечка — рецепты на каждый день"
    assert [c["kind"] for c in item["captures"]] == ["landing", "landing_bot"]
    assert [c["size"] for c in item["captures"]] == [len(page("prelander")), len(page("whitepage"))]
    assert result.stat("landing/cloaked") == 1 and result.stat("landing/fetched") == 1

    mobile, bot = http_server.hits("/news/")
    assert "Mobile" in mobile.headers["User-Agent"]
    assert mobile.headers["Accept-Language"].startswith("ru-KZ")
    assert mobile.query == {"sub1": "fb_17", "fbclid": "IwAR0demo", "offer": "7"}
    assert "Mobile" not in bot.headers["User-Agent"] and "scamradar" in bot.headers["User-Agent"]
    assert bot.query == {"offer": "7"}
    assert "Referer" not in bot.headers  # the mobile URL and its click ids are not handed over


def test_a_page_that_shows_everyone_the_same_is_not_cloaked(run_landing, http_server) -> None:
    http_server.route("/help/", body=page("recovery"), content_type=HTML)

    result = run_landing(urls=[http_server.url("/help/?ttclid=E.C.P.demo&utm_source=tiktok")])

    (item,) = result.items
    assert item["extra"]["cloaked"] is False
    assert item["extra"]["cloak"]["reasons"] == []
    assert item["extra"]["phones"] == ["+77000004455"]
    assert {m["kind"] for m in item["extra"]["messengers"]} == {"whatsapp", "telegram"}
    assert item["extra"]["pixels"] == {"tiktok": ["{TIKTOK_PIXEL_ID}"]}
    assert result.stat("landing/cloaked") == 0


PRIVATE_TARGETS = [
    "http://127.0.0.1:{port}/secret",
    "http://10.0.0.1/admin",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://localhost:{port}/secret",
]


def test_landing_urls_from_ads_aimed_at_private_targets_are_refused_and_counted(
    run_landing, http_server
) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route("/ok/", body=page("recovery"), content_type=HTML)
    http_server.route("/secret", body=b"<html><title>internal</title></html>", content_type=HTML)
    queued = [u.format(port=port) for u in PRIVATE_TARGETS]

    result = run_landing(urls=[http_server.url("/ok/")], queued=queued)

    assert http_server.hits("/secret") == []
    assert [i["url"] for i in result.items] == [http_server.url("/ok/")]  # the trusted config URL
    assert result.stat("landing/refused_private") == 4
    assert result.stat("landing/targets_refused") == 4
    assert result.stat("landing/refused_private/loopback") == 1
    assert result.stat("landing/refused_private/private") == 1
    assert result.stat("landing/refused_private/metadata") == 1
    assert result.stat("landing/refused_private/localhost") == 1
    for url in queued:
        status, note = result.targets[url]
        assert status == "refused", (url, status, note)
    assert "metadata" in result.targets[queued[2]][1]
    assert "refused" in result.log and "169.254.169.254" in result.log


def test_private_targets_are_fetched_when_the_allow_setting_is_on(run_landing, http_server) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route("/secret", body=page("recovery"), content_type=HTML)
    queued = [f"http://127.0.0.1:{port}/secret", f"http://localhost:{port}/secret?x=1"]

    result = run_landing(queued=queued, allow_private=True)

    assert len(http_server.hits("/secret")) == 4  # two targets, each fetched twice
    assert len(result.items) == 2
    assert result.stat("landing/refused") == 0
    assert {result.targets[u][0] for u in queued} == {"fetched"}


def test_a_host_name_that_resolves_to_loopback_is_refused_at_connect_time(
    run_landing, http_server
) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route("/page", body=page("recovery"), content_type=HTML)
    target = f"http://rebind.example:{port}/page"

    result = run_landing(queued=[target], hosts={"rebind.example": "127.0.0.1"})

    assert http_server.hits("/page") == []
    assert result.items == []
    assert result.stat("landing/refused_private/loopback") == 1
    status, note = result.targets[target]
    assert status == "refused" and "rebind.example resolves to 127.0.0.1" in note


def test_a_redirect_from_a_public_looking_url_to_loopback_is_refused(
    run_landing, http_server
) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route(
        "/go", status=302, headers={"Location": f"http://127.0.0.1:{port}/admin"}, content_type=HTML
    )
    http_server.route("/admin", body=b"<title>admin</title>", content_type=HTML)

    # promo.example is the configured (trusted) URL; the hop it redirects to is not
    result = run_landing(
        urls=[f"http://promo.example:{port}/go?fbclid=1"], hosts={"promo.example": "127.0.0.1"}
    )

    assert len(http_server.hits("/go")) == 1
    assert http_server.hits("/admin") == []
    assert result.items == []
    assert result.stat("landing/refused_private/loopback") == 1


def test_redirects_are_followed_and_the_chain_is_recorded(run_landing, http_server) -> None:
    http_server.route("/r1", status=302, headers={"Location": "/r2?sub1=x"}, content_type=HTML)
    http_server.route("/r2", status=301, headers={"Location": "/final/?sub1=x"}, content_type=HTML)
    http_server.route("/final/", body=page("recovery"), content_type=HTML)

    result = run_landing(urls=[http_server.url("/r1?sub1=x")])

    (item,) = result.items
    assert item["extra"]["redirect_chain"] == [
        http_server.url("/r1?sub1=x"),
        http_server.url("/r2?sub1=x"),
        http_server.url("/final/?sub1=x"),
    ]
    assert item["extra"]["redirect_statuses"] == [302, 301]
    assert item["external_id"] == http_server.url("/final/")


@pytest.mark.parametrize(
    ("route", "settings", "reason"),
    [
        ({"status": 500, "body": b"<h1>oops</h1>"}, {}, "http_status"),
        ({"hang": True}, {"DOWNLOAD_TIMEOUT": 1}, "timeout"),
        ({"body": b"\x89PNG\r\n\x1a\n" + b"0" * 100, "content_type": "image/png"}, {}, "non_html"),
        ({"body": b"<html>" + b"a" * 50_000}, {"DOWNLOAD_MAXSIZE": 10_000}, "too_large"),
        ({"body": page("recovery"), "truncate": True}, {}, "truncated"),
    ],
    ids=["http-500", "timeout", "non-html", "huge-body", "truncated-body"],
)
def test_a_target_that_cannot_be_read_is_marked_failed_with_the_reason(
    run_landing, http_server, route, settings, reason
) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route("/bad", **route)
    target = f"http://127.0.0.1:{port}/bad"

    result = run_landing(queued=[target], allow_private=True, settings=settings)

    assert result.items == []
    assert result.stat("landing/failed") == 1
    assert result.stat(f"landing/failed/{reason}") == 1
    assert result.targets[target][0] == "failed"
    assert result.stat("log_count/ERROR") == 0  # a dead page is the target's outcome, not an error


def test_a_page_in_cp1251_declared_as_utf8_is_read_correctly(run_landing, http_server) -> None:
    body = (
        "<html><head><title>Халык Инвест — доход 300%</title></head>"
        "<body><p>Звоните +7 701 000 00 05</p></body></html>"
    ).encode("cp1251")
    http_server.route("/cp", body=body, content_type=HTML)

    result = run_landing(urls=[http_server.url("/cp")])

    (item,) = result.items
    assert item["title"] == "Халык Инвест — доход 300%"
    assert item["extra"]["charset"] == "cp1251"
    assert item["extra"]["phones"] == ["+77010000005"]
    assert result.stat("landing/charset_mismatch") == 2  # the mobile and the bot fetch


def test_malformed_html_still_makes_an_item(run_landing, http_server) -> None:
    http_server.route(
        "/broken",
        body="<html><title>Kaspi</title><body><div><p>Бонус<form action=s.php><input name=phone"
        "</table></span>",
        content_type=HTML,
    )

    result = run_landing(urls=[http_server.url("/broken")])

    (item,) = result.items
    assert item["title"] == "Kaspi" and item["extra"]["forms"]


def test_base_url_serves_the_configured_urls_from_another_origin(run_landing, http_server) -> None:
    http_server.route("/news/", handler=cloaking_handler(page("prelander"), page("whitepage")))

    result = run_landing(
        urls=["https://kazatom-invest.example/news/?sub1=a&fbclid=b"],
        base_url=http_server.base_url,
    )

    (item,) = result.items
    assert item["extra"]["cloaked"] is True
    mobile, bot = http_server.hits("/news/")
    assert dict(parse_qsl(urlsplit(mobile.path).query)) == {"sub1": "a", "fbclid": "b"}
    assert mobile.headers["Host"] == bot.headers["Host"] == "kazatom-invest.example"
    # the item stands for the page, the evidence says where the bytes came from
    assert item["external_id"] == "https://kazatom-invest.example/news/"
    assert item["extra"]["requested_url"] == "https://kazatom-invest.example/news/?sub1=a&fbclid=b"
    assert item["extra"]["fetched_from"] == http_server.base_url
    assert item["captures"][0]["url"] == http_server.url("/news/?sub1=a&fbclid=b")


def test_base_url_also_serves_queued_look_alike_domains(run_landing, http_server) -> None:
    http_server.route("/", body=page("recovery"), content_type=HTML)
    queued = ["qorgau-legal-kz.example", "*.halyk-vozvrat.example"]

    result = run_landing(queued=queued, base_url=http_server.base_url)

    assert {i["external_id"] for i in result.items} == {
        "https://qorgau-legal-kz.example/",
        "https://halyk-vozvrat.example/",
    }
    assert {r.headers["Host"] for r in http_server.hits("/")} == {
        "qorgau-legal-kz.example",
        "halyk-vozvrat.example",
    }
    assert {result.targets[u][0] for u in queued} == {"fetched"}


def test_a_queued_target_is_marked_fetched(run_landing, http_server) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route("/lp", body=page("recovery"), content_type=HTML)
    target = f"http://127.0.0.1:{port}/lp?utm_source=fb"

    result = run_landing(queued=[target], allow_private=True)

    assert result.targets[target][0] == "fetched"
    assert result.items[0]["extra"]["origin"] == "ad"


def test_two_targets_redirecting_to_one_page_both_end_fetched(run_landing, http_server) -> None:
    port = urlsplit(http_server.base_url).port
    for path in ("/a", "/b"):
        http_server.route(path, status=302, headers={"Location": "/same/"}, content_type=HTML)
    http_server.route("/same/", body=page("recovery"), content_type=HTML)
    queued = [f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b"]

    result = run_landing(queued=queued, allow_private=True)

    assert {result.targets[u][0] for u in queued} == {"fetched"}
    assert {i["external_id"] for i in result.items} == {http_server.url("/same/")}


def test_bots_sent_to_a_private_address_are_refused_and_the_page_counts_as_cloaked(
    run_landing, http_server
) -> None:
    port = urlsplit(http_server.base_url).port

    def cloaker(request):
        if "Mobile" in request.headers.get("User-Agent", ""):
            return 200, {"Content-Type": HTML}, page("recovery")
        return 302, {"Location": f"http://127.0.0.1:{port}/internal"}, b""

    http_server.route("/lp", handler=cloaker)
    http_server.route("/internal", body=b"<title>internal</title>", content_type=HTML)

    result = run_landing(
        urls=[f"http://promo.example:{port}/lp?ttclid=1"], hosts={"promo.example": "127.0.0.1"}
    )

    (item,) = result.items
    assert http_server.hits("/internal") == []
    assert item["extra"]["cloaked"] is True
    assert item["extra"]["bot"]["error"] == "refused"
    assert [c["kind"] for c in item["captures"]] == ["landing"]
    assert result.stat("landing/bot_failed") == 1


def test_a_not_found_for_bots_only_is_recorded_as_cloaking(run_landing, http_server) -> None:
    def cloaker(request):
        if "Mobile" in request.headers.get("User-Agent", ""):
            return 200, {"Content-Type": HTML}, page("prelander")
        return 404, {"Content-Type": HTML}, b"<title>404 Not Found</title><h1>Not Found</h1>"

    http_server.route("/lp", handler=cloaker)

    result = run_landing(urls=[http_server.url("/lp?fbclid=1")])

    (item,) = result.items
    assert item["extra"]["cloaked"] is True
    assert "status differs: 200 vs 404" in item["extra"]["cloak"]["reasons"]
    assert [c["status"] for c in item["captures"]] == [200, 404]


def test_queued_bare_domains_and_non_http_links_are_handled(run_landing, http_server) -> None:
    queued = ["*.localhost", "javascript:alert(1)", "tg://resolve?domain=scam_demo"]

    result = run_landing(queued=queued)

    assert result.items == []
    assert {result.targets[u][0] for u in queued} == {"refused"}
    assert result.stat("landing/refused_scheme") == 2
    assert result.stat("landing/refused_private/localhost") == 1


def test_file_and_ftp_links_are_refused_even_when_private_targets_are_allowed(
    run_landing, http_server
) -> None:
    queued = ["file:///etc/passwd", "ftp://127.0.0.1/pub/"]

    result = run_landing(queued=queued, allow_private=True)

    assert result.items == []
    assert {result.targets[u][0] for u in queued} == {"refused"}
    assert result.stat("landing/refused_scheme") == 2


def test_a_run_where_every_target_fails_on_the_network_logs_an_error(run_landing) -> None:
    queued = [f"http://127.0.0.1:1/{n}" for n in range(3)]  # nothing listens on port 1

    result = run_landing(queued=queued, allow_private=True)

    assert result.stat("landing/failed/connection_refused") == 3
    assert result.stat("log_count/ERROR") == 1
    assert "all 3 targets failed on the network" in result.log


def test_a_meta_refresh_is_followed_and_recorded_in_the_chain(run_landing, http_server) -> None:
    http_server.route(
        "/mr",
        body='<head><meta http-equiv="refresh" content="0; url=/final/?sub1=x"></head>',
        content_type=HTML,
    )
    http_server.route("/final/", body=page("recovery"), content_type=HTML)

    result = run_landing(urls=[http_server.url("/mr?sub1=x")])

    (item,) = result.items
    assert item["extra"]["redirect_chain"] == [
        http_server.url("/mr?sub1=x"),
        http_server.url("/final/?sub1=x"),
    ]
    assert item["extra"]["redirect_statuses"] == ["meta refresh"]


def test_a_target_failing_for_a_passing_reason_is_fetched_by_a_later_run(
    run_landing, http_server, landing_db
) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route("/later", body=page("recovery"))
    http_server.route("/later", status=503, body=b"busy", times=1)
    http_server.route("/gone", status=404, body=b"no such page")
    later, gone = f"http://127.0.0.1:{port}/later", f"http://127.0.0.1:{port}/gone"

    first = run_landing(queued=[later, gone], allow_private=True, params={"retries": 1})
    assert first.targets[later][0] == "failed"
    assert "HTTP 503 (retry 1 of 1 due " in first.targets[later][1]
    assert first.targets[gone] == ("failed", "HTTP 404")  # final: never retried

    run_landing(allow_private=True, params={"retries": 1})  # not due yet: nothing fetched
    assert len(http_server.hits("/later")) == 1

    engine = make_engine(landing_db)
    try:
        with session_factory(engine).begin() as session:
            session.execute(
                update(LandingTarget)
                .where(LandingTarget.retry_at.is_not(None))
                .values(retry_at=utcnow() - timedelta(seconds=1))
            )
    finally:
        engine.dispose()
    third = run_landing(allow_private=True, params={"retries": 1})
    assert third.targets[later][0] == "fetched"
    assert [item["url"] for item in third.items] == [later]
    assert len(http_server.hits("/gone")) == 1
