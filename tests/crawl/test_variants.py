"""Real-format responses that differ from the shared fixtures, crawled end to end.

``tests/fixtures/variants/`` (see its README) holds pages and feeds shaped the way other real
sources are: Telegram albums, polls, documents, service messages, a "more" link without
``data-before``, a channel without a web preview; RSS 1.0, Atom xhtml content, relative links,
repeated guids, a windows-1251 feed, a BOM, compressed bodies. Each is served by the local
fixture server and crawled through ``scamradar crawl NAME --config FILE`` with ``base_url``.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import brotli
from httpserver import FixtureServer
from scrapy.http import Request, XmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.sources import source_from_dict
from crawler.spiders.feeds import FeedsSpider
from storage.models import Ad

from .conftest import Crawl, db_session, last_run

VARIANTS = Path(__file__).resolve().parents[1] / "fixtures" / "variants"
CHANNEL = "kz_bonus_variants_demo"
HTML = "text/html; charset=utf-8"


def variant(name: str) -> bytes:
    return (VARIANTS / name).read_bytes()


def _telegram(server: FixtureServer, channels: list[str], **params: object) -> dict[str, object]:
    return {
        "name": "tg_variants",
        "spider": "telegram",
        "schedule": "every 30m",
        "base_url": server.base_url,
        "channels": channels,
        **params,
    }


def test_a_channel_with_every_kind_of_post_is_read_as_a_reader_sees_it(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    http_server.route(f"/s/{CHANNEL}", body=variant("telegram_variants.html"))
    http_server.route(f"/s/{CHANNEL}?before=200", body=variant("telegram_variants_before_200.html"))
    # the search finds the posts the channel page holds (and has no "more" link)
    search = variant("telegram_variants.html").replace(b"js-messages_more_wrap", b"")
    search = search.replace(b'class="tme_messages_more js-messages_more"', b"")
    http_server.route(f"/s/{CHANNEL}?q=Halyk", body=search)
    crawl.write_sources([_telegram(http_server, [CHANNEL], search=["Halyk"])])

    done = crawl.crawl("tg_variants")

    assert done.returncode == 0, done.stderr[-3000:]
    paths = sorted(r.path for r in http_server.requests if r.path.startswith("/s/"))
    # the "more" link had only an href (no data-before): followed; the page behind it has
    # no "more" link: the start of the channel, paging stops
    assert paths == [f"/s/{CHANNEL}", f"/s/{CHANNEL}?before=200", f"/s/{CHANNEL}?q=Halyk"]
    with db_session(crawl.db_url) as s:
        ads = {a.external_id.split("/")[1]: a for a in s.scalars(select(Ad))}
        run = last_run(s)
    # service messages (200, 201) are not posts; a sticker (211), a bare photo (217), a round
    # video (207), a voice note (208) and "Please open Telegram" (216) have nothing to read
    assert sorted(ads) == [
        "198", "199", "202", "205", "206", "209", "210", "212", "213", "214",
        "215", "218", "219", "220", "221", "222",
    ]  # fmt: skip
    assert run.status == "finished"
    assert run.stats["telegram/service_messages"] == 4  # two on the channel page, two in search
    assert run.stats["telegram/duplicate_posts"] == 14  # the search repeated the channel page
    assert all(a.times_seen == 1 for a in ads.values())  # no post counted twice by one run

    album = ads["202"]
    assert album.text.startswith("Выплаты участникам программы «Halyk Дивиденд» за октябрь")
    assert album.extra["media"] == ["photo", "video"]
    assert album.landing_url == "https://halyk-dividend.example/?src=tg&sub1=album"
    assert album.published_at.replace(tzinfo=UTC) == datetime(2025, 11, 2, 8, 22, tzinfo=UTC)
    poll = ads["205"]
    assert "Сколько вы готовы вложить в акции Казатомпрома?" in poll.text
    assert "500 000 ₸ и больше" in poll.text and poll.extra["media"] == ["poll"]
    assert "Halyk_Invest_Pro_v2.apk" in ads["209"].text
    assert ads["210"].text == "Договор_Kazatomprom_Invest.pdf"
    assert ads["212"].extra["reply_to"]["url"] == f"https://t.me/{CHANNEL}/202"
    assert ads["213"].advertiser == "Айгерим Менеджер"
    assert ads["213"].landing_url.startswith("https://api.whatsapp.com/send?phone=77000009911")
    assert ads["214"].extra["forwarded_from"]["url"] == "https://t.me/vigroup_capital_demo/88"
    assert ads["215"].extra["media_unavailable"] == "Media is too big"
    assert ads["218"].landing_url == "https://kaspi-bonus.example/reg?a=1&b=2&utm_source=tg"
    assert ads["219"].extra["mentions"] == ["https://t.me/bcc_invest_bot_demo?start=ref77"]
    assert ads["220"].extra["sponsored"] is True
    signed = ads["221"]
    assert signed.extra["author"] == "Ержан Б." and signed.extra["edited"] is True
    assert signed.extra["views"] == 15000
    assert "Офис Halyk Invest" in ads["222"].text


def test_channels_without_a_preview_or_without_posts_end_the_run_empty(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    # preview disabled: t.me/s/<name> redirects to the channel's info page t.me/<name>
    http_server.route(
        "/s/kz_closed_variants_demo",
        status=302,
        headers={"Location": "/kz_closed_variants_demo"},
    )
    http_server.route("/kz_closed_variants_demo", body=variant("telegram_info_page.html"))
    http_server.route("/s/kz_new_variants_demo", body=variant("telegram_empty_channel.html"))
    crawl.write_sources(
        [_telegram(http_server, ["kz_closed_variants_demo", "kz_new_variants_demo"])]
    )

    done = crawl.crawl("tg_variants")

    assert done.returncode == 1
    assert "tg_variants: empty" in done.stdout
    with db_session(crawl.db_url) as s:
        run = last_run(s)
        assert s.scalars(select(Ad)).first() is None
    assert run.status == "empty"
    assert run.stats["telegram/no_preview"] == 1 and run.stats["telegram/pages"] == 2


def _feeds(server: FixtureServer) -> dict[str, object]:
    return {
        "name": "news_variants",
        "spider": "feeds",
        "schedule": "every 1h",
        "base_url": server.base_url,
        "urls": [
            "https://kapital-demo.example/rss",
            "https://profit-demo.example/rss/",
            "https://kaz-demo.example/feed/atom/",
            "http://old-portal-demo.example/export/rss.xml",
            "https://bom-demo.example/rss.xml",
        ],
    }


def test_feeds_of_every_real_shape_keep_their_links_dates_and_text(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    http_server.route(
        "/rss",
        body=gzip.compress(variant("rss_content_encoded.xml")),
        content_type="application/rss+xml; charset=utf-8",
        headers={"Content-Encoding": "gzip"},
    )
    http_server.route("/rss/", body=variant("rss1_rdf.xml"), content_type="application/rdf+xml")
    http_server.route(
        "/feed/atom/",
        body=brotli.compress(variant("atom_xhtml.xml")),
        content_type="application/atom+xml",
        headers={"Content-Encoding": "br"},
    )
    # windows-1251, said only by the XML declaration, served as text/xml without a charset
    http_server.route("/export/rss.xml", body=variant("rss_cp1251.xml"), content_type="text/xml")
    http_server.route(
        "/rss.xml", body=variant("rss_bom.xml"), content_type="application/xml; charset=utf-8"
    )
    crawl.write_sources([_feeds(http_server)])

    done = crawl.crawl("news_variants")

    assert done.returncode == 0, done.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        ads = {a.url: a for a in s.scalars(select(Ad))}
        run = last_run(s)
    assert run.status == "finished" and run.items == 9
    assert run.stats["feeds/duplicate_entries"] == 1
    assert all(a.times_seen == 1 for a in ads.values())
    # relative links resolve against the feed's configured URL, not the mirror it came from
    assert set(ads) == {
        "https://kapital-demo.example/finance/12001-natsbank-predupredil",
        "https://kapital-demo.example/finance/12002",
        "https://kapital-demo.example/video/3",
        "https://profit-demo.example/news/501/",
        "https://profit-demo.example/news/502/",
        "https://kaz-demo.example/kk/news/777",
        "https://kaz-demo.example/news/778",
        "http://old-portal-demo.example/news/1.html",
        "https://bom-demo.example/a/1",
    }
    encoded = ads["https://kapital-demo.example/finance/12001-natsbank-predupredil"]
    assert "Банк не привлекает инвестиции через соцсети." in encoded.text  # content:encoded
    assert encoded.extra["author"] == "Айгуль Демо"
    assert encoded.published_at.replace(tzinfo=UTC) == datetime(2025, 11, 3, 5, 15, tzinfo=UTC)
    # the first copy of a repeated guid is kept; it has no date
    repeated = ads["https://kapital-demo.example/finance/12002"]
    assert repeated.published_at is None
    # "Пн, 03 ноя 2025 08:00:00 +0500": a date feedparser cannot read
    video = ads["https://kapital-demo.example/video/3"]
    assert video.published_at.replace(tzinfo=UTC) == datetime(2025, 11, 3, 3, 0, tzinfo=UTC)
    assert "признаки поддельного видео" in video.text  # media:description only
    xhtml = ads["https://kaz-demo.example/kk/news/777"]
    assert xhtml.title == 'Halyk банкі атынан алаяқтар "бонус" ұсынады'
    assert "Банк мұндай акция өткізбейді." in xhtml.text
    legacy = ads["http://old-portal-demo.example/news/1.html"]
    assert legacy.title == "Мошенники обещают выплаты от Казатомпрома"
    assert legacy.published_at.replace(tzinfo=UTC) == datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
    assert ads["https://bom-demo.example/a/1"].title.startswith("Kaspi Gold")
    assert ads["https://profit-demo.example/news/501/"].published_at is not None


def test_google_news_without_a_source_element_takes_the_outlet_from_the_description() -> None:
    url = "https://news.google.com/rss/search?q=Halyk&hl=kk&gl=KZ&ceid=KZ:kk"
    config = source_from_dict(
        {"name": "gn", "spider": "feeds", "schedule": "every 1h", "urls": [url]}
    )
    spider = FeedsSpider.from_crawler(get_crawler(FeedsSpider), source=config)
    body = variant("google_news_kk_cluster.xml")
    response = XmlResponse(url=url, body=body, request=Request(url))

    cluster, bare = spider.parse_feed(response, feed_url=url)

    assert (cluster.advertiser, cluster.extra["source_url"]) == (
        "Demo Qazaqstan",
        "https://demo-qazaqstan.example",
    )
    assert cluster.title == 'Halyk клиенттеріне жалған "бонус" хабарламалары келуде'
    # the outlet is cut from the end only: a " - " inside the headline stays
    assert (bare.advertiser, bare.title) == (
        "Demo Vlast",
        "Мошенники от имени Halyk Bank - обзор схем",
    )
