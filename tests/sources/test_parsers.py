"""The API parsers on the recorded fixtures, without Scrapy or a network."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sources.support import fixture

from crawler.apis import crtsh, meta_ads, vk, youtube
from crawler.apis.errors import Action, ApiError

# --------------------------------------------------------------------------- crt.sh


def test_crtsh_precertificate_and_leaf_become_one_certificate():
    rows = crtsh.parse_search(fixture("crtsh.json"))
    certs = crtsh.dedupe_certificates(rows)
    assert len(rows) == 7 and len(certs) == 6
    bonus = next(c for c in certs if c.common_name == "halyk-bonus-kz.online")
    assert bonus.ids == (20871663377, 20871664201)
    assert bonus.id == 20871663377  # the earlier log entry (the precertificate)


def test_crtsh_multiline_names_are_split_and_wildcards_stripped():
    certs = crtsh.dedupe_certificates(crtsh.parse_search(fixture("crtsh.json")))
    hosts = crtsh.domains_of(certs)
    assert "www.halyk-bonus-kz.online" in hosts and "halyk-bonus-kz.online" in hosts
    assert "halykinvest-kz.site" in hosts
    assert not any("*" in h for h in hosts)


@pytest.mark.parametrize("status", [200, 502, 503])
def test_crtsh_html_error_page_is_a_transient_error_not_a_crash(status):
    with pytest.raises(ApiError) as caught:
        crtsh.parse_search(fixture("crtsh_error_502.html"), status)
    assert caught.value.action is Action.RETRY


def test_crtsh_empty_answer_and_unknown_keys_are_fine():
    assert crtsh.parse_search(b"[]") == []
    row = json.loads(fixture("crtsh.json"))[2] | {"new_key": {"nested": True}}
    assert crtsh.parse_search(json.dumps([row]).encode())[0].names == ("halyk-uran.top",)


def test_crtsh_default_queries_cover_every_brand_with_transliterations():
    from crawler.rules import load_engine

    queries = crtsh.default_queries(load_engine().ruleset.brands)
    for wanted in (
        "%halyk%",
        "%halyq%",
        "%xalyk%",
        "%kaspi%",
        "%qaspi%",
        "%kazatom%",
        "%vigroup%",
        "%centercredit%",
    ):
        assert wanted in queries
    terms = [q.strip("%") for q in queries]
    assert not any(a != b and a in b for a in terms for b in terms)  # no redundant query
    assert crtsh.search_url("%halyk%") == (
        "https://crt.sh/?q=%25halyk%25&output=json&exclude=expired"
    )


# --------------------------------------------------------------------------- VK


def test_vk_search_page_gives_posts_advertisers_and_the_next_cursor():
    page = vk.parse_response(fixture("vk_newsfeed_search.json"))
    assert page.next_from == "8/5_-210000003_77"
    first = page.posts[0]
    assert first.external_id == "-210000001_5123" and first.marked_as_ads
    assert first.author == "Инвестиции Казахстан | Доход онлайн"
    assert first.links[0]["url"] == "https://kaspi-invest-kz.online/reg?src=vk"
    assert first.url == "https://vk.com/wall-210000001_5123"
    assert page.posts[3].author == "Айгерім Сапарова"


def test_vk_last_search_page_has_no_cursor():
    assert vk.parse_response(fixture("vk_newsfeed_search_page2.json")).next_from is None


def test_vk_wall_keeps_pins_and_reposted_text():
    page = vk.parse_response(fixture("vk_wall_get.json"))
    assert page.count == 214 and page.posts[0].is_pinned
    assert "VI Group Capital" in page.posts[1].copy_text
    assert page.posts[1].copy_from == (-210000009,)


def test_vk_errors_arrive_with_http_200_and_say_what_to_do():
    with pytest.raises(ApiError) as rate:
        vk.parse_response(fixture("vk_error_too_many_requests.json"), 200)
    assert rate.value.action is Action.RETRY and rate.value.code == 6
    with pytest.raises(ApiError) as auth:
        vk.parse_response(fixture("vk_error_auth.json"), 200)
    assert auth.value.action is Action.FAIL and auth.value.code == 5
    assert "User authorization failed" in auth.value.reason
    assert "SCAMRADAR_VK_TOKEN" in auth.value.reason


def test_vk_communities_are_addressed_by_name_or_id():
    assert vk.wall_params("kz_dohod_online_demo")["domain"] == "kz_dohod_online_demo"
    assert vk.wall_params("club210000001")["owner_id"] == "-210000001"
    assert vk.wall_params("https://vk.com/public77")["owner_id"] == "-77"
    url = vk.method_url("wall.get", vk.wall_params("x_demo"), "tok", "http://h")
    assert "v=5.199" in url and url.endswith("access_token=tok")


# --------------------------------------------------------------------------- YouTube


def test_youtube_search_titles_are_unescaped_and_paging_ends_on_the_last_page():
    page = youtube.parse_search(fixture("youtube_search.json"))
    assert page.next_page_token == "CAUQAA" and len(page.video_ids) == 5
    title = page.snippets["fX3kaSpi003"]["title"]
    assert '("реальный" отзыв) | It\'s real' in title and "&quot;" not in title
    assert youtube.parse_search(fixture("youtube_search_page2.json")).next_page_token is None


def test_youtube_video_details_have_numbers_and_the_landing_link():
    videos = youtube.parse_videos(fixture("youtube_videos.json"))
    first = videos[0]
    assert first.views == 48211 and first.comments == 0 and first.duration == "PT3M41S"
    assert first.links() == ["https://kazatom-dividend.online/?sub1=yt"]
    assert first.published_at == datetime(2025, 10, 13, 15, 2, 11, tzinfo=UTC)


def test_youtube_quota_exhaustion_waits_for_midnight_pacific_time():
    now = datetime(2025, 10, 14, 10, 0, tzinfo=UTC)  # 03:00 in Los Angeles (PDT, UTC-7)
    with pytest.raises(ApiError) as caught:
        youtube.check_error(fixture("youtube_error_quota.json"), 403, now=now)
    error = caught.value
    assert error.action is Action.SKIP_UNTIL and error.code == "quotaExceeded"
    assert error.until == datetime(2025, 10, 15, 7, 0, tzinfo=UTC)
    assert "<a" not in error.message and "quota" in error.message


# --------------------------------------------------------------------------- Meta Ad Library


def test_meta_pages_are_parsed_and_the_token_is_stripped_from_paging():
    page = meta_ads.parse_archive(fixture("meta_ads_archive_page1.json"))
    assert [a.id for a in page.ads] == ["1192837465508712", "2044718396126655", "864420017395281"]
    assert page.next_url and "access_token" not in page.next_url and "after=" in page.next_url
    first = page.ads[0]
    assert first.library_url == "https://www.facebook.com/ads/library/?id=1192837465508712"
    assert first.captions == ("kazatom-dividend.online",) and first.eu_total_reach == 18430
    assert "EAAFIXTURE" not in repr(page)


def test_meta_dynamic_template_ads_are_marked_and_an_empty_page_ends_paging():
    page2 = meta_ads.parse_archive(fixture("meta_ads_archive_page2.json"))
    assert page2.ads[1].templated and not page2.ads[0].templated
    last = meta_ads.parse_archive(fixture("meta_ads_archive_page3_empty.json"))
    assert last.ads == [] and last.next_url is None


@pytest.mark.parametrize(
    ("name", "action", "code", "words"),
    [
        ("meta_ads_archive_error_token_expired.json", Action.FAIL, 190, "SCAMRADAR_META_TOKEN"),
        ("meta_ads_archive_error_rate_limit.json", Action.RETRY, 613, "rate limit"),
        ("meta_ads_archive_error_param.json", Action.FAIL, 100, "ad_reached_countries"),
    ],
)
def test_meta_error_bodies_say_what_to_do(name, action, code, words):
    with pytest.raises(ApiError) as caught:
        meta_ads.parse_archive(fixture(name), 400)
    assert caught.value.action is action and caught.value.code == code
    assert words in caught.value.reason


def test_meta_requests_ask_for_all_ad_types_in_the_russian_speaking_eu():
    url = meta_ads.archive_url("Казатомпром", token="tok", base_url="http://h")
    assert "ad_type=ALL" in url and "ad_active_status=ALL" in url
    assert "%5B%22LV%22%2C%22LT%22%2C%22EE%22%2C%22DE%22%2C%22PL%22%2C%22CY%22%5D" in url
    assert url.endswith("access_token=tok")
    nxt = "https://graph.facebook.com/v24.0/ads_archive?fields=id&after=abc"
    assert meta_ads.rebase(nxt, "http://127.0.0.1:9") == (
        "http://127.0.0.1:9/v24.0/ads_archive?fields=id&after=abc"
    )


def test_meta_dates_old_and_new_formats_are_read():
    assert meta_ads.parse_date("2025-10-12") == datetime(2025, 10, 12, tzinfo=UTC)
    assert meta_ads.parse_date("2020-10-29T18:00:56+0000") == datetime(
        2020, 10, 29, 18, 0, 56, tzinfo=UTC
    )


def test_meta_rate_limit_usage_headers_are_read():
    app = {"X-App-Usage": '{"call_count":80,"total_time":25,"total_cputime":25}'}
    usage = '{"1":[{"type":"ads_archive","call_count":12,"total_cputime":77,"total_time":3}]}'
    business = {"x-business-use-case-usage": usage}
    assert meta_ads.usage_percent(app) == 80
    assert meta_ads.usage_percent(business) == 77
    assert meta_ads.usage_percent({"X-App-Usage": "garbage"}) is None
    assert meta_ads.usage_percent({}) is None
