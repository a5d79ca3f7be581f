"""Spiders parse saved pages offline (no server, no reactor): what each item carries."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import AdItem
from crawler.sources import source_from_dict
from crawler.spiders.feeds import FeedsSpider, rebase
from crawler.spiders.telegram import TelegramSpider, parse_views

from .conftest import fixture_bytes

CHANNEL = "almaty_zhanalyq_demo"


def _spider(cls: type, **source: Any) -> Any:
    config = source_from_dict({"name": "src", "schedule": "every 1h", **source})
    crawler = get_crawler(cls)
    return cls.from_crawler(crawler, source=config)


def _telegram_items(
    body: bytes, url: str = f"https://t.me/s/{CHANNEL}", page: int = 1, **source: Any
) -> tuple[list[AdItem], list[Request]]:
    spider = _spider(TelegramSpider, spider="telegram", channels=[CHANNEL], **source)
    response = HtmlResponse(
        url=url,
        body=body,
        headers={"Content-Type": "text/html; charset=utf-8"},
        request=Request(url),
    )
    out = list(spider.parse_page(response, channel=CHANNEL, page=page, search=None))
    return ([o for o in out if isinstance(o, AdItem)], [o for o in out if isinstance(o, Request)])


def test_a_channel_page_yields_one_item_per_post_with_its_channel_id() -> None:
    items, requests = _telegram_items(fixture_bytes("telegram_channel.html"))
    assert [i.external_id for i in items] == [f"{CHANNEL}/{n}" for n in range(4812, 4817)]
    assert all(i.source == "src" and i.spider == "telegram" for i in items)
    assert items[0].url == f"https://t.me/{CHANNEL}/4812"
    assert items[0].published_at is not None and items[0].published_at.utcoffset() is not None
    assert [r.url for r in requests] == [f"https://t.me/s/{CHANNEL}?before=4812"]


def test_a_sponsored_post_keeps_its_preview_button_and_landing_url() -> None:
    items, _ = _telegram_items(fixture_bytes("telegram_channel.html"))
    ad = items[1]
    assert ad.extra["sponsored"] is True
    assert ad.extra["link_preview"]["site_name"] == "Kazatomprom Invest"
    assert ad.extra["buttons"] == [
        {"text": "Зарегистрироваться", "url": "https://kazatom-dividend.online/?utm_source=tg_btn"}
    ]
    assert ad.landing_url == "https://kazatom-dividend.online/?utm_source=tg&sub1=almaty"
    assert "https://kazatom-dividend.online/?utm_source=tg_btn" in ad.links
    assert "Гарантия возврата средств" in ad.text and "[Зарегистрироваться]" in ad.text
    assert ad.extra["views"] == 15300 and ad.extra["media"] == ["photo"]
    assert not items[0].extra["sponsored"]  # a news warning that mentions "реклама" is not an ad


def test_forwarded_and_edited_posts_are_recognised() -> None:
    items, _ = _telegram_items(fixture_bytes("telegram_channel.html"))
    forwarded = items[2]
    assert forwarded.extra["forwarded_from"] == {
        "name": "Halyk Invest | Бонус 150 000 ₸",
        "url": "https://t.me/halyk_invest_bonus_demo",
    }
    assert forwarded.advertiser == "Halyk Invest | Бонус 150 000 ₸"
    assert items[4].extra["edited"] is True and items[3].extra["edited"] is False
    assert "https://wa.me/77000004455" in items[3].links


def test_links_to_telegram_itself_are_mentions_not_landing_pages() -> None:
    items, _ = _telegram_items(fixture_bytes("telegram_channel.html"))
    forwarded = items[2]
    assert forwarded.links == [] and forwarded.landing_url is None
    assert forwarded.extra["mentions"] == ["https://t.me/halyk_manager_aigerim_demo"]


def test_all_items_of_a_page_share_one_capture() -> None:
    items, _ = _telegram_items(fixture_bytes("telegram_channel.html"))
    assert len({id(i.captures[0]) for i in items}) == 1
    capture = items[0].captures[0]
    assert capture.status == 200 and capture.body == fixture_bytes("telegram_channel.html")
    assert capture.fetched_at.tzinfo is not None


def test_paging_stops_at_max_pages_and_at_the_start_of_the_channel() -> None:
    _, requests = _telegram_items(fixture_bytes("telegram_channel.html"), page=2, max_pages=2)
    assert requests == []
    items, requests = _telegram_items(fixture_bytes("telegram_channel_before_4809.html"))
    assert [i.external_id for i in items] == [f"{CHANNEL}/4808"] and requests == []


def test_a_video_post_is_marked_as_video() -> None:
    items, _ = _telegram_items(fixture_bytes("telegram_channel_before_4812.html"))
    assert any("video" in i.extra.get("media", []) for i in items)


def test_a_channel_without_web_preview_yields_nothing_and_is_counted() -> None:
    body = b"<html><body><div class='tgme_page'>Join channel</div></body></html>"
    spider = _spider(TelegramSpider, spider="telegram", channels=[CHANNEL])
    response = HtmlResponse(url="https://t.me/s/x", body=body, request=Request("https://t.me/s/x"))
    assert list(spider.parse_page(response, channel="x", page=1, search=None)) == []
    assert spider.crawler.stats.get_value("telegram/no_preview") == 1


def test_views_are_read_as_numbers() -> None:
    assert parse_views("15.3K") == 15300
    assert parse_views("1.2M") == 1_200_000
    assert parse_views("640") == 640
    assert parse_views("") is None


def test_a_cp1251_page_declared_as_utf8_is_decoded_as_cp1251() -> None:
    text = fixture_bytes("telegram_channel.html").decode("utf-8")
    body = text.replace("₸", "тг").encode("cp1251", errors="replace")
    items, _ = _telegram_items(body)
    assert "Вложите от 90 000 тг" in items[1].text


def _feed_items(
    name: str, url: str, content_type: str = "application/xml", **source: Any
) -> list[AdItem]:
    return _feed_items_of(fixture_bytes(name), url, content_type, **source)


def _feed_items_of(
    body: bytes, url: str, content_type: str = "application/xml", **source: Any
) -> list[AdItem]:
    spider = _spider(FeedsSpider, spider="feeds", urls=[url], **source)
    response = TextResponse(
        url=url,
        body=body,
        headers={"Content-Type": content_type},
        request=Request(url),
    )
    return [i for i in spider.parse_feed(response, feed_url=url) if isinstance(i, AdItem)]


def test_an_rss_feed_yields_entries_with_utc_dates_and_the_outlet() -> None:
    items = _feed_items("rss_feed.xml", "https://qazaq-janalyq.example/news.rss")
    assert len(items) == 4
    first = items[0]
    assert first.title.startswith("Генпрокуратура предупредила")
    assert "сайты-клоны Halyk Bank" in first.text and "<p>" not in first.text
    assert (
        first.published_at is not None
        and first.published_at.isoformat() == "2025-10-14T06:40:00+00:00"
    )
    assert first.external_id == first.url
    assert first.landing_url is None and first.links == []  # news links are not landing pages


@pytest.mark.parametrize(
    ("written", "utc", "zoned"),
    [
        ("2025-11-03T10:15:00", "2025-11-03T05:15:00+00:00", False),  # W3C: Almaty time
        ("Mon, 03 Nov 2025 10:15:00", "2025-11-03T05:15:00+00:00", False),  # RFC 822
        ("03.11.2025 10:15", "2025-11-03T05:15:00+00:00", False),  # as KZ sites write it
        ("2025-11-03T10:15:00Z", "2025-11-03T10:15:00+00:00", True),
        ("Mon, 03 Nov 2025 10:15:00 GMT", "2025-11-03T10:15:00+00:00", True),
        ("Mon, 03 Nov 2025 10:15:00 +0300", "2025-11-03T07:15:00+00:00", True),
        ("Пн, 03 ноя 2025 10:15:00 +0500", "2025-11-03T05:15:00+00:00", True),
    ],
)
def test_a_feed_date_without_a_zone_is_the_sources_local_time(
    written: str, utc: str, zoned: bool
) -> None:
    url = "https://qazaq-janalyq.example/news.rss"
    feed = (
        "<rss version='2.0'><channel><title>Q</title><item><title>Жаңалық</title>"
        f"<link>https://qazaq-janalyq.example/1</link><pubDate>{written}</pubDate></item>"
        "</channel></rss>"
    ).encode()
    [item] = _feed_items_of(feed, url)
    assert item.published_at is not None and item.published_at.isoformat() == utc
    # the zone is a setting of the source: a feed written in UTC says so
    [item] = _feed_items_of(feed, url, timezone="UTC")
    assert item.published_at.isoformat() == (utc if zoned else "2025-11-03T10:15:00+00:00")


def test_an_atom_feed_yields_entries_with_html_unescaped() -> None:
    items = _feed_items("atom_feed.xml", "https://steppe-business.example/feed/atom/")
    assert [i.external_id for i in items] == [
        "https://steppe-business.example/?p=104233",
        "https://steppe-business.example/?p=104190",
    ]
    assert items[0].title == "Regulator warns of fake “Halyk” and “Kaspi” investment apps"
    assert "recovery lawyers" in items[0].text


def test_google_news_keeps_the_source_url_and_drops_the_outlet_suffix() -> None:
    items = _feed_items("google_news_rss.xml", "https://news.google.com/rss/search?q=x")
    first = items[0]
    assert first.title == "Генпрокуратура предупредила о фейковых инвестплатформах"
    assert first.advertiser == "Qazaq Jańalyq Demo"
    assert first.extra["source_url"] == "https://qazaq-janalyq.example"
    assert first.url.startswith("https://news.google.com/rss/articles/")


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://news.site/feed/?a=1", "http://127.0.0.1:9000", "http://127.0.0.1:9000/feed/?a=1"),
        ("https://news.site/rss", "http://mirror/prefix/", "http://mirror/prefix/rss"),
        ("https://news.site/rss", None, "https://news.site/rss"),
    ],
)
def test_base_url_replaces_the_feed_origin(url: str, base: str | None, expected: str) -> None:
    assert rebase(url, base) == expected


def test_landing_page_facts_become_campaign_indicators() -> None:
    from crawler.pipelines.classify import page_indicators

    extra = {
        "phones": ["+77000001234"],
        "messengers": [
            {"kind": "whatsapp", "url": "https://wa.me/77000001234", "handle": "77000001234"},
            {"kind": "telegram", "url": "https://t.me/invest_manager_demo", "handle": ""},
        ],
        "pixels": {"meta": ["100000000000001"], "yandex_metrika": ["90000001"]},
    }
    assert page_indicators(extra) == [
        ("phone", "+77000001234"),
        ("whatsapp", "77000001234"),
        ("telegram", "https://t.me/invest_manager_demo"),
        ("pixel", "meta:100000000000001"),
        ("pixel", "yandex_metrika:90000001"),
    ]
    assert page_indicators({}) == []
