"""News feeds: RSS 2.0, Atom and Google News RSS, parsed with feedparser.

Parameter (sources.yaml): ``urls`` (required). With ``base_url`` set, each URL's scheme and host
are replaced by it (path and query kept), so a watch list can be pointed at a mirror or a test
server unchanged.

Each entry becomes one item: ``external_id`` the entry's id/guid (else its link; a guid met
again in the same run is skipped), ``title``, ``text`` the content or summary without HTML,
``url`` the entry's link (relative links resolved against the configured feed URL),
``advertiser`` the outlet, ``published_at`` (:func:`entry_date`), ``extra``: ``feed``,
``feed_title``, ``categories``, ``author``.

News items are a trend and warning signal, not ads: their links are not queued for the landing
spider. Google News ``<link>`` values are Google redirect tokens (``news.google.com/rss/
articles/CBMi…``), not publisher URLs; the item keeps the token link as ``url``, the outlet from
``<source url="…">`` as ``advertiser`` and ``extra.source_url``, and the headline without the
`` - Outlet`` suffix Google appends.

Malformed XML: feedparser is lenient; a feed that yields entries despite errors is kept and
counted (``feeds/bozo``); a body that is not a feed at all (an HTML page served to an unknown
user agent, a truncated document) is an error (``feeds/not_a_feed``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import feedparser
import scrapy
from parsel import Selector
from scrapy.http import Response

from crawler.spiders.base import SourceSpider, html_to_text

_XML_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?)\s+encoding=[\"'][^\"']*[\"']", re.IGNORECASE)


def rebase(url: str, base_url: str | None) -> str:
    """``url`` with its scheme and host replaced by ``base_url``'s (and base_url's path prefix)."""
    if not base_url:
        return url
    target, base = urlsplit(url), urlsplit(base_url)
    path = base.path.rstrip("/") + target.path
    return urlunsplit((base.scheme, base.netloc, path, target.query, ""))


_UTC = ZoneInfo("UTC")
# A date that names its zone: an offset or a zone name right after the time of day.
_ZONE_RE = re.compile(
    r"\d:\d{2}(?::\d{2})?(?:[.,]\d+)?\s*(?:[+-]\d{2}(?::?\d{2})?|z|\(?[a-z]{1,5}\)?)$",
    re.IGNORECASE,
)


def entry_date(entry: Any, zone: ZoneInfo = _UTC) -> datetime | None:
    """When the entry was published (else updated), in UTC.

    feedparser reads RFC 822 and W3C dates; what it cannot read (``Пн, 03 ноя 2025 10:15:00
    +0500``, ``03.11.2025 10:15``, an RFC 822 date without a zone) is read by dateparser in
    Russian, Kazakh or English, absolute dates only (never "вчера"). A date that names no zone
    (``2025-11-03T10:15:00``, ``03.11.2025 10:15``) is a wall-clock time of ``zone``, the source's
    ``timezone`` setting (Kazakhstan's outlets write local time: Asia/Almaty by default).
    """
    for key in ("published", "updated"):
        # dict.get: feedparser's own get maps a missing "updated" to "published", with a warning.
        stamp = dict.get(entry, f"{key}_parsed")
        if stamp is None:
            continue
        wall = datetime(*stamp[:6])
        raw = dict.get(entry, key)
        if isinstance(raw, str) and not _ZONE_RE.search(raw.strip()):
            # feedparser reads a date without a zone as UTC: it was the outlet's local time.
            return wall.replace(tzinfo=zone).astimezone(UTC)
        return wall.replace(tzinfo=UTC)
    raw = entry.get("published") or entry.get("updated") or entry.get("created")
    if not raw or not isinstance(raw, str):
        return None
    import dateparser  # only for the dates feedparser gave up on

    parsed = dateparser.parse(
        raw,
        languages=["ru", "kk", "en"],
        settings={
            "PARSERS": ["absolute-time"],
            "DATE_ORDER": "DMY",
            "TIMEZONE": zone.key,  # of a date that names none
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "STRICT_PARSING": True,
        },
    )
    return parsed.astimezone(UTC) if parsed is not None else None


class FeedsSpider(SourceSpider):
    name = "feeds"
    default_base_url = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._yielded: set[str] = set()  # external ids yielded by this run
        self.zone = ZoneInfo(self.source.param("timezone", "Asia/Almaty"))

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.param("urls", []):
            yield scrapy.Request(
                rebase(url, self.source.base_url),
                callback=self.parse_feed,
                cb_kwargs={"feed_url": url},
                headers={
                    "Accept": "application/rss+xml, application/atom+xml, "
                    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
                },
            )

    def parse_feed(self, response: Response, feed_url: str) -> Any:
        stats = self.crawler.stats
        text = self.decoded(response).text
        # The text is decoded already: drop the XML declaration's encoding so that feedparser
        # does not decode it a second time with the (possibly wrong) declared charset.
        body = _XML_ENCODING.sub(rb"\1", text.encode("utf-8"), count=1)
        # content-location: relative links (``<link>/news/1</link>``) resolve against the feed's
        # own URL as configured (not the base_url mirror it was fetched from); xml:base wins.
        parsed = feedparser.parse(
            body,
            response_headers={"content-type": "application/xml", "content-location": feed_url},
        )
        if not parsed.entries:
            if parsed.get("bozo") or not parsed.get("version"):
                stats.inc_value("feeds/not_a_feed")
                reason = parsed.get("bozo_exception") or "no feed element"
                self.logger.error("%s is not a readable feed: %s", response.url, reason)
            else:
                stats.inc_value("feeds/empty")
            return
        if parsed.get("bozo"):
            stats.inc_value("feeds/bozo")
            self.logger.warning(
                "%s: malformed feed, %d entries recovered: %s",
                response.url,
                len(parsed.entries),
                parsed.get("bozo_exception"),
            )
        feed = parsed.feed
        feed_title = feed.get("title")
        google = "news.google." in feed_url or feed.get("generator", "").startswith("NFE/")
        stats.inc_value("feeds/feeds")
        for entry in parsed.entries:
            item = self.entry(response, entry, feed_url, feed_title, google)
            if item is None:
                continue
            key = item.external_id
            if key is not None and key in self._yielded:
                # a guid repeated in one feed (an updated copy below the original) or in two
                # feeds of the source (www/non-www, a section feed and the main feed): one item
                stats.inc_value("feeds/duplicate_entries")
                continue
            if key is not None:
                self._yielded.add(key)
            stats.inc_value("feeds/entries")
            yield item

    def entry(
        self, response: Response, entry: Any, feed_url: str, feed_title: str | None, google: bool
    ) -> Any:
        title = html_to_text(entry.get("title") or "")
        if entry.get("content"):
            body_html = " ".join(c.get("value", "") for c in entry.content)
        else:
            body_html = entry.get("summary") or ""
        text = html_to_text(body_html)
        link = entry.get("link")
        source = entry.get("source") or {}
        outlet = source.get("title") or feed_title
        extra: dict[str, Any] = {"feed": feed_url, "feed_title": feed_title}
        if google:
            extra["google_news"] = True
            if not source.get("title"):
                # no <source>: Google's description still names the outlet, in a <font> after
                # the headline ("<a>Headline</a>&nbsp;&nbsp;<font color=…>Outlet</font>")
                named = Selector(text=body_html or "<p></p>").css("font ::text").get()
                outlet = named.strip() if named and named.strip() else outlet
            if source.get("href"):
                extra["source_url"] = source["href"]
            if outlet and title.endswith(f" - {outlet}"):
                title = title[: -len(outlet) - 3].rstrip()
            if text.startswith(title):  # Google's description repeats the headline + outlet
                text = ""
        categories = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
        if categories:
            extra["categories"] = categories
        if entry.get("author"):
            extra["author"] = entry["author"]
        if not title and not text:
            return None
        published = entry_date(entry, self.zone)
        return self.item(
            response,
            external_id=(entry.get("id") or link or None),
            title=title or None,
            text=text or title,
            url=link,
            advertiser=outlet,
            published_at=published,
            extra=extra,
        )
