"""Feeds crawled end to end, and evidence that can be shown to be unchanged (or not)."""

from __future__ import annotations

import gzip
from pathlib import Path

from httpserver import FixtureServer
from sqlalchemy import select

from storage.models import Ad, CrawlRun, Evidence

from .conftest import Crawl, db_session, fixture_bytes


def _feeds_source(server: FixtureServer) -> dict[str, object]:
    return {
        "name": "kz_news",
        "spider": "feeds",
        "schedule": "0 * * * *",
        "base_url": server.base_url,
        "urls": [
            "https://qazaq-janalyq.example/news.rss",
            "https://steppe-business.example/feed/atom/",
            "https://news.google.com/rss/search?q=%22Kazatomprom%22&hl=ru&gl=KZ&ceid=KZ:ru",
        ],
    }


def _feed_routes(server: FixtureServer) -> None:
    server.route(
        "/news.rss", body=fixture_bytes("rss_feed.xml"), content_type="application/rss+xml"
    )
    server.route(
        "/feed/atom/", body=fixture_bytes("atom_feed.xml"), content_type="application/atom+xml"
    )
    server.route(
        "/rss/search", body=fixture_bytes("google_news_rss.xml"), content_type="application/xml"
    )


def test_rss_atom_and_google_news_are_stored_and_news_warnings_stay_legit(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    _feed_routes(http_server)
    crawl.write_sources([_feeds_source(http_server)])
    done = crawl.crawl("kz_news")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "kz_news: finished (run 1): 8 items, 8 new" in done.stdout
    assert "0 flagged" in done.stdout and "0 landing URLs queued" in done.stdout
    with db_session(crawl.db_url) as s:
        ads = s.scalars(select(Ad)).all()
        assert {a.label for a in ads} == {"legit"}
        google = [a for a in ads if a.extra.get("google_news")]
        assert {a.extra["source_url"] for a in google} == {
            "https://qazaq-janalyq.example",
            "https://demo-aqparat.example",
        }


def test_a_feed_that_is_html_or_broken_xml_is_an_error_but_recoverable_xml_is_kept(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    _feed_routes(http_server)
    rss = fixture_bytes("rss_feed.xml").decode("utf-8")
    recoverable = rss.replace("<category>Алматы</category>", "<category>Алматы & Co</category>")
    http_server.route("/news.rss", body=recoverable, content_type="application/rss+xml")
    http_server.route(
        "/feed/atom/",
        body="<!doctype html><html><body><div id=app></div>",
        content_type="text/html",
    )
    crawl.write_sources([_feeds_source(http_server)])
    done = crawl.crawl("kz_news")
    assert done.returncode == 0, done.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        run = s.scalars(select(CrawlRun)).one()
        assert run.status == "finished"  # 1 bad feed out of 3 is not "mostly errors"
        assert run.stats["feeds/not_a_feed"] == 1
        assert run.stats["feeds/bozo"] == 1
        assert run.items == 6 and run.errors == 1


def test_a_cp1251_feed_declared_as_utf8_is_read_correctly(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    rss = fixture_bytes("rss_feed.xml").decode("utf-8")
    http_server.route(
        "/news.rss",
        body=rss.encode("cp1251", errors="replace"),
        content_type="application/rss+xml; charset=utf-8",
    )
    source = _feeds_source(http_server)
    source["urls"] = ["https://qazaq-janalyq.example/news.rss"]
    crawl.write_sources([source])
    done = crawl.crawl("kz_news")
    assert done.returncode == 0, done.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        titles = set(s.scalars(select(Ad.title)))
    assert "В Алматы открылась новая велодорожка" in titles


def _crawled(crawl: Crawl, server: FixtureServer) -> list[Evidence]:
    _feed_routes(server)
    crawl.write_sources([_feeds_source(server)])
    assert crawl.crawl("kz_news").returncode == 0
    with db_session(crawl.db_url) as s:
        return list(s.scalars(select(Evidence).order_by(Evidence.id)))


def test_evidence_records_carry_fetch_time_and_sha256_of_the_payload(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    from warcio.archiveiterator import ArchiveIterator

    rows = _crawled(crawl, http_server)
    assert len({(r.warc_path, r.warc_offset) for r in rows}) == 3  # one record per feed response
    path = crawl.evidence_dir / rows[0].warc_path
    with open(path, "rb") as fh:
        records = list(ArchiveIterator(fh))
    assert [r.rec_type for r in records] == ["warcinfo", "response", "response", "response"]
    with open(path, "rb") as fh:
        fh.seek(rows[0].warc_offset)
        record = next(iter(ArchiveIterator(fh)))
        payload = record.content_stream().read()
        headers = record.rec_headers
    import hashlib

    assert hashlib.sha256(payload).hexdigest() == rows[0].sha256
    assert headers.get_header("WARC-Payload-Digest").startswith("sha256:")
    assert headers.get_header("WARC-Date").startswith(rows[0].fetched_at.strftime("%Y-%m-%dT%H:%M"))
    assert headers.get_header("WARC-Target-URI") == rows[0].url


def test_evidence_verify_reports_a_changed_record_and_a_missing_file(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    rows = _crawled(crawl, http_server)
    path: Path = crawl.evidence_dir / rows[0].warc_path
    # rewrite one record with a different payload of the same shape
    with open(path, "rb") as fh:
        data = fh.read()
    last = max(r.warc_offset for r in rows)
    member = gzip.decompress(data[last:])
    changed = member.replace(b"2025", b"2024", 1)
    assert changed != member
    path.write_bytes(data[:last] + gzip.compress(changed))
    tampered = crawl.cli("evidence", "verify")
    assert tampered.returncode == 1
    assert "mismatch: stored sha256" in tampered.stderr
    changed_rows = sum(r.warc_offset == last for r in rows)
    assert f"{len(rows) - changed_rows} intact, {changed_rows} changed" in tampered.stdout
    path.unlink()
    missing = crawl.cli("evidence", "verify")
    assert missing.returncode == 1 and "missing_file" in missing.stderr
