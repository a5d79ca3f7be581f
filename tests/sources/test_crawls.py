"""``scamradar crawl`` for the ctlog, vk, youtube and meta_ads kinds against the local server
(each crawl a subprocess), with paging, every recorded error body, and retries."""

from __future__ import annotations

from sources.conftest import (
    crtsh_routes,
    fixture,
    meta_handler,
    meta_routes,
    vk_routes,
    youtube_routes,
)
from sqlalchemy import select

from storage.models import Ad, CrawlRun, Evidence, LandingTarget

VK_TOKEN = "vk_tok_SECRET_456"
YT_KEY = "yt_key_SECRET_789"
META_TOKEN = "tok_SECRET_123"


def source(server, kind: str, **params):
    return {
        "name": f"{kind}_test",
        "spider": kind,
        "schedule": "every 6h",
        "base_url": server.base_url,
        **params,
    }


def last_run(c):
    return c.query(CrawlRun)[-1]


# --------------------------------------------------------------------------- ctlog


def test_ctlog_stores_each_lookalike_host_once_and_queues_its_landing_page(crawl, server):
    crtsh_routes(server)
    c = crawl()
    c.sources(source(server, "ctlog", queries=["%halyk%"]))
    done = c.crawl("ctlog_test")
    assert done.returncode == 0, done.stderr[-3000:]
    ads = {a.external_id: a for a in c.query(Ad)}
    assert set(ads) == {
        "halyk-bonus-kz.online",
        "halyk-uran.top",
        "halykinvest-kz.site",
        "lk.halyk-kz.help",
    }  # official halykbank.kz hosts are not look-alikes
    bonus = ads["halyk-bonus-kz.online"]
    assert bonus.landing_url == "https://halyk-bonus-kz.online/"
    assert bonus.extra["certificate"]["crtsh_ids"] == [20871663377, 20871664201]
    assert bonus.extra["lookalike"]["brand"] == "halyk"
    queued = {t.url: t.status for t in c.query(LandingTarget)}
    assert queued["https://halyk-bonus-kz.online/"] == "pending" and len(queued) == 4
    assert [r.status for r in c.query(CrawlRun)] == ["finished"]
    assert server.hits("/")[0].query == {"q": "%halyk%", "output": "json", "exclude": "expired"}


def test_ctlog_run_again_sees_the_same_hosts_again_without_duplicates(crawl, server):
    crtsh_routes(server)
    c = crawl()
    c.sources(source(server, "ctlog", queries=["%halyk%"]))
    assert c.crawl("ctlog_test").returncode == 0
    assert c.crawl("ctlog_test").returncode == 0
    ads = c.query(Ad)
    assert len(ads) == 4 and all(a.times_seen == 2 for a in ads)


def test_ctlog_retries_an_html_error_page_and_then_parses_the_json(crawl, server):
    crtsh_routes(server)
    server.route("/", status=502, body=fixture("crtsh_error_502.html"), times=1)
    server.route("/", status=200, body=fixture("crtsh_error_502.html"), times=1)  # 200 + HTML
    c = crawl()
    c.sources(source(server, "ctlog", queries=["%halyk%"]))
    done = c.crawl("ctlog_test")
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(server.hits("/")) == 3
    assert len(c.query(Ad)) == 4
    run = last_run(c)
    assert run.status == "finished" and run.stats["api/retries"] >= 1


def test_ctlog_that_only_gets_error_pages_fails_the_run_without_a_crash(crawl, server):
    server.route("/", status=503, body=fixture("crtsh_error_502.html"))
    c = crawl()
    c.sources(source(server, "ctlog", queries=["%halyk%"]))
    done = c.crawl("ctlog_test", "-s", "SCAMRADAR_API_RETRIES=1")
    assert done.returncode == 1
    run = last_run(c)
    assert run.status == "failed" and "crt.sh error" in (run.error or "")
    assert "Traceback" not in done.stderr


def test_ctlog_default_queries_come_from_the_brand_lexicon(crawl, server):
    server.route("/", body=b"[]", content_type="application/json")
    c = crawl()
    c.sources(source(server, "ctlog"))
    c.crawl("ctlog_test")
    asked = {r.query["q"] for r in server.hits("/")}
    assert {"%halyk%", "%halyq%", "%kaspi%", "%qaspi%", "%kazatom%"} <= asked
    assert last_run(c).status == "empty"


# --------------------------------------------------------------------------- vk


def test_vk_pages_search_to_the_end_and_reads_community_walls(crawl, server):
    vk_routes(server)
    c = crawl(SCAMRADAR_VK_TOKEN=VK_TOKEN)
    c.sources(source(server, "vk", queries=["каспи инвест"], communities=["kz_dohod_online_demo"]))
    done = c.crawl("vk_test")
    assert done.returncode == 0, done.stderr[-3000:]
    searches = server.hits("/method/newsfeed.search")
    assert [r.query.get("start_from") for r in searches] == [None, "8/5_-210000003_77"]
    assert all(r.query["v"] == "5.199" and r.query["access_token"] == VK_TOKEN for r in searches)
    assert server.hits("/method/wall.get")[0].query["domain"] == "kz_dohod_online_demo"
    ads = {a.external_id: a for a in c.query(Ad)}
    assert len(ads) == 7
    sponsored = ads["-210000001_5123"]
    assert sponsored.extra["marked_as_ads"] is True
    assert sponsored.advertiser == "Инвестиции Казахстан | Доход онлайн"
    assert sponsored.landing_url == "https://kaspi-invest-kz.online/reg?src=vk"
    assert sponsored.url == "https://vk.com/wall-210000001_5123"
    assert ads["-210000001_5130"].extra["is_pinned"] is True
    assert sponsored.label == "fake_investment"
    assert last_run(c).status == "finished"


def test_vk_too_many_requests_is_retried_after_a_pause(crawl, server):
    vk_routes(server)
    server.route(
        "/method/newsfeed.search",
        body=fixture("vk_error_too_many_requests.json"),
        content_type="application/json",
        times=2,
    )
    c = crawl(SCAMRADAR_VK_TOKEN=VK_TOKEN)
    c.sources(source(server, "vk", queries=["каспи инвест"]))
    done = c.crawl("vk_test")
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(server.hits("/method/newsfeed.search")) == 4  # 2 refused, then 2 pages
    assert len(c.query(Ad)) == 5
    assert last_run(c).stats["api/errors/vk/6"] == 2


def test_vk_auth_error_fails_the_run_with_a_clear_message(crawl, server):
    server.route(
        "/method/wall.get", body=fixture("vk_error_auth.json"), content_type="application/json"
    )
    c = crawl(SCAMRADAR_VK_TOKEN=VK_TOKEN)
    c.sources(source(server, "vk", communities=["kz_dohod_online_demo"]))
    done = c.crawl("vk_test")
    assert done.returncode == 1
    run = last_run(c)
    assert run.status == "failed"
    assert "User authorization failed" in run.error and "SCAMRADAR_VK_TOKEN" in run.error
    assert len(server.hits("/method/wall.get")) == 1  # an auth error is not retried


def test_vk_without_a_token_makes_no_call_and_fails(crawl, server):
    vk_routes(server)
    c = crawl()
    c.sources(source(server, "vk", queries=["каспи инвест"]))
    assert c.crawl("vk_test").returncode == 1
    assert "SCAMRADAR_VK_TOKEN is not set" in last_run(c).error
    assert server.requests == []


# --------------------------------------------------------------------------- youtube


def test_youtube_pages_search_then_fetches_video_details(crawl, server):
    youtube_routes(server)
    c = crawl(SCAMRADAR_YOUTUBE_KEY=YT_KEY)
    c.sources(source(server, "youtube", queries=["Казатомпром"]))
    done = c.crawl("youtube_test")
    assert done.returncode == 0, done.stderr[-3000:]
    searches = server.hits("/youtube/v3/search")
    assert [r.query.get("pageToken") for r in searches] == [None, "CAUQAA"]
    assert searches[0].query["regionCode"] == "KZ" and searches[0].query["key"] == YT_KEY
    ads = {a.external_id: a for a in c.query(Ad)}
    assert set(ads) == {"fX1kZat0m01", "fX2hAlyK002"}  # the ids videos.list answered for
    video = ads["fX1kZat0m01"]
    assert video.landing_url == "https://kazatom-dividend.online/?sub1=yt"
    assert video.extra["views"] == 48211 and video.advertiser == "Финансы KZ Live"
    assert video.url == "https://www.youtube.com/watch?v=fX1kZat0m01"


def test_youtube_quota_exhaustion_fails_the_run_and_skips_until_the_reset(crawl, server):
    server.route(
        "/youtube/v3/search",
        status=403,
        body=fixture("youtube_error_quota.json"),
        content_type="application/json; charset=UTF-8",
    )
    c = crawl(SCAMRADAR_YOUTUBE_KEY=YT_KEY)
    c.sources(source(server, "youtube", queries=["Казатомпром"]))
    assert c.crawl("youtube_test").returncode == 1
    first = last_run(c)
    assert first.status == "failed" and "quotaExceeded" in first.error
    assert first.stats["youtube/quota_until"]
    assert len(server.hits("/youtube/v3/search")) == 1  # no retry
    assert c.crawl("youtube_test").returncode == 1
    second = last_run(c)
    assert second.status == "failed" and "quota exhausted until" in second.error
    assert len(server.hits("/youtube/v3/search")) == 1  # the second run made no call


# --------------------------------------------------------------------------- meta_ads


def test_meta_ads_follows_paging_next_to_the_empty_page(crawl, server):
    meta_routes(server)
    c = crawl(SCAMRADAR_META_TOKEN=META_TOKEN)
    c.sources(source(server, "meta_ads", queries=["Казатомпром"]))
    done = c.crawl("meta_ads_test")
    assert done.returncode == 0, done.stderr[-3000:]
    hits = server.hits("/v24.0/ads_archive")
    assert len(hits) == 3 and [bool(h.query.get("after")) for h in hits] == [False, True, True]
    first = hits[0].query
    assert first["ad_type"] == "ALL" and first["search_terms"] == "Казатомпром"
    assert first["ad_reached_countries"] == '["LV","LT","EE","DE","PL","CY"]'
    assert all(h.query["access_token"] == META_TOKEN for h in hits)
    ads = {a.external_id: a for a in c.query(Ad)}
    assert len(ads) == 5
    ad = ads["1192837465508712"]
    assert ad.url == "https://www.facebook.com/ads/library/?id=1192837465508712"
    assert ad.landing_url == "https://kazatom-dividend.online/"
    assert ad.advertiser == "Новости Сегодня 24" and ad.label == "fake_investment"
    assert ads["1300451288840922"].extra["templated"] is True


def test_meta_ads_rate_limit_is_retried(crawl, server):
    meta_routes(server)
    server.route(
        "/v24.0/ads_archive",
        status=400,
        body=fixture("meta_ads_archive_error_rate_limit.json"),
        content_type="application/json",
        times=1,
    )
    c = crawl(SCAMRADAR_META_TOKEN=META_TOKEN)
    c.sources(source(server, "meta_ads", queries=["Казатомпром"]))
    done = c.crawl("meta_ads_test")
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(server.hits("/v24.0/ads_archive")) == 4
    assert len(c.query(Ad)) == 5


def test_meta_ads_slows_down_when_meta_reports_high_usage(crawl, server):
    def busy(request):
        status, headers, body = meta_handler(request)
        return status, {**headers, "X-App-Usage": '{"call_count":90,"total_time":10}'}, body

    server.route("/v24.0/ads_archive", handler=busy)
    c = crawl(SCAMRADAR_META_TOKEN=META_TOKEN)
    c.sources(source(server, "meta_ads", queries=["Казатомпром"]))
    done = c.crawl("meta_ads_test")
    assert done.returncode == 0, done.stderr[-3000:]
    stats = last_run(c).stats
    assert stats["meta_ads/usage_max"] == 90 and stats["retry/backoff_seconds"] > 0
    assert "rate-limit usage at 90 %" in done.stderr


def test_meta_ads_expired_token_fails_the_run_clearly(crawl, server):
    server.route(
        "/v24.0/ads_archive",
        status=400,
        body=fixture("meta_ads_archive_error_token_expired.json"),
        content_type="application/json",
    )
    c = crawl(SCAMRADAR_META_TOKEN=META_TOKEN)
    c.sources(source(server, "meta_ads", queries=["Казатомпром"]))
    assert c.crawl("meta_ads_test").returncode == 1
    run = last_run(c)
    assert run.status == "failed" and "access token rejected (expired)" in run.error
    assert len(server.hits("/v24.0/ads_archive")) == 1


def test_meta_ads_bad_parameter_fails_with_metas_message(crawl, server):
    server.route(
        "/v24.0/ads_archive",
        status=400,
        body=fixture("meta_ads_archive_error_param.json"),
        content_type="application/json",
    )
    c = crawl(SCAMRADAR_META_TOKEN=META_TOKEN)
    c.sources(source(server, "meta_ads", queries=["Казатомпром"], countries=["KZ"]))
    assert c.crawl("meta_ads_test").returncode == 1
    run = last_run(c)
    assert "must be one of {BR, GB, US}" in run.error
    assert server.hits("/v24.0/ads_archive")[0].query["ad_reached_countries"] == '["KZ"]'


# --------------------------------------------------------------------------- secrets


def test_tokens_appear_nowhere_in_database_evidence_or_logs(crawl, server):
    meta_routes(server)
    vk_routes(server)
    youtube_routes(server)
    c = crawl(
        SCAMRADAR_META_TOKEN=META_TOKEN, SCAMRADAR_VK_TOKEN=VK_TOKEN, SCAMRADAR_YOUTUBE_KEY=YT_KEY
    )
    c.sources(
        source(server, "meta_ads", queries=["Казатомпром"]),
        source(server, "vk", queries=["каспи инвест"], communities=["kz_dohod_online_demo"]),
        source(server, "youtube", queries=["Казатомпром"]),
    )
    logs = ""
    for name in ("meta_ads_test", "vk_test", "youtube_test"):
        done = c.crawl(name, "-s", "LOG_LEVEL=DEBUG")
        assert done.returncode == 0, done.stderr[-3000:]
        logs += done.stdout + done.stderr
    # the tokens did travel (the server saw them) …
    assert any(r.query.get("access_token") == META_TOKEN for r in server.requests)
    assert "Crawled (200)" in logs  # DEBUG lines with the request URLs were written
    # … and are nowhere afterwards
    database, warc = c.all_text(), c.warc_bytes()
    assert c.query(Evidence) and len(warc) > 10_000
    for secret in (META_TOKEN, VK_TOKEN, YT_KEY):
        assert secret not in logs, secret
        assert secret not in database, secret
        assert secret.encode() not in warc, secret
    assert b"access_token=[REDACTED]" in warc or b"[REDACTED]" in warc


def test_evidence_of_an_api_answer_is_its_redacted_body(crawl, server):
    meta_routes(server)
    c = crawl(SCAMRADAR_META_TOKEN=META_TOKEN)
    c.sources(source(server, "meta_ads", queries=["Казатомпром"]))
    assert c.crawl("meta_ads_test").returncode == 0
    rows = c.rows(select(Evidence.url, Evidence.kind, Evidence.sha256))
    assert rows and all(kind == "api" and "access_token" not in url for url, kind, _ in rows)
    verify = c.cli("evidence", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_vk_wall_pages_by_offset_until_a_short_page(crawl, server):
    import json

    post = json.loads(fixture("vk_wall_get.json"))["response"]["items"][1]

    def wall(ids):
        items = [{**post, "id": i, "text": f"Пост {i}: Kaspi доход 7% в день"} for i in ids]
        return json.dumps({"response": {"count": 103, "items": items}}).encode()

    server.route("/method/wall.get", body=wall(range(1000, 1100)), content_type="application/json")
    server.route(
        "/method/wall.get?offset=100", body=wall(range(2000, 2003)), content_type="application/json"
    )
    c = crawl(SCAMRADAR_VK_TOKEN=VK_TOKEN)
    c.sources(source(server, "vk", communities=["club210000001"]))
    done = c.crawl("vk_test")
    assert done.returncode == 0, done.stderr[-3000:]
    walls = server.hits("/method/wall.get")
    assert [r.query["offset"] for r in walls] == ["0", "100"]
    assert walls[0].query["owner_id"] == "-210000001"
    assert len(c.query(Ad)) == 103


def test_youtube_and_meta_without_their_secret_make_no_call_and_fail(crawl, server):
    youtube_routes(server)
    meta_routes(server)
    c = crawl()
    c.sources(
        source(server, "youtube", queries=["Kaspi"]), source(server, "meta_ads", queries=["Kaspi"])
    )
    assert c.crawl("youtube_test").returncode == 1
    assert "SCAMRADAR_YOUTUBE_KEY is not set" in last_run(c).error
    assert c.crawl("meta_ads_test").returncode == 1
    assert "SCAMRADAR_META_TOKEN is not set" in last_run(c).error
    assert server.requests == []
