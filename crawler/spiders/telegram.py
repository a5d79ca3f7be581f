"""Telegram public channels through the web preview, ``<base_url>/s/<channel>``.

Parameters (sources.yaml): ``channels`` (required), ``max_pages`` (default 5), ``search``
(in-channel search terms, ``?q=``). ``base_url`` defaults to ``https://t.me``.

A page holds about 20 posts, oldest first. The spider pages back with ``?before=<id>`` (the
``a.tme_messages_more[data-before]`` link, else the ``before=`` of its ``href``; no link = the
start of the channel) until ``max_pages`` pages, or until a page holds a post this source stored
in an earlier run (the posts behind it were seen). Search results page the same way, up to
``max_pages``. A post met twice in one run (a search result a channel page also holds) is
yielded once.

Each post becomes one item: ``external_id`` ``<channel>/<post id>``; ``text`` is the post's
text, what a reader sees of its media (poll question and options, document file names, a
venue), then its link preview (site, title, description) and its inline buttons; ``links``
every URL in the text, the preview and the buttons (queued for the landing spider) except links
to Telegram itself (channels, @mentions, bots: ``extra.mentions``); ``extra`` holds ``channel``,
``sponsored`` (``#реклама``/"Реклама"/"Sponsored"/``erid:``), ``forwarded_from``,
``reply_to``, ``author``, ``link_preview``, ``buttons``, ``views``, ``edited``, ``media``,
``media_unavailable``, ``poll``, ``documents``, ``venue``. Service messages ("Channel
created", pins) and posts with nothing to read (a sticker or a photo alone) make no item.

Known limits: Telegram's own Sponsored Messages never appear in the web preview; channels
without a web preview (or private ones) yield nothing and are counted as
``telegram/no_preview``; views are rounded ("15.3K").
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import scrapy
from parsel import Selector
from scrapy.http import Response

from crawler.items import AdItem
from crawler.spiders.base import SourceSpider, html_to_text

# "#реклама" tags, a line that is just "Реклама"/"Жарнама"/"Sponsored", or an erid token
_SPONSORED = re.compile(
    r"#(?:реклама|жарнама|ad|ads|sponsored)\b|^\s*(?:реклама|жарнама|sponsored)\s*$|\berid\s*[:=]",
    re.IGNORECASE | re.MULTILINE,
)
_BG_URL = re.compile(r"url\(['\"]?([^'\")]+)")
_VIEWS = re.compile(r"^([\d.,]+)\s*([KMkm]?)$")
_BEFORE_PARAM = re.compile(r"[?&]before=(\d+)")
#: What kind of media a post carries, by the widget's element classes.
_MEDIA = (
    ("photo", ".tgme_widget_message_photo_wrap"),
    ("video", ".tgme_widget_message_video_player, video.tgme_widget_message_video"),
    ("round_video", ".tgme_widget_message_roundvideo_player"),
    ("voice", ".tgme_widget_message_voice_player, audio.tgme_widget_message_voice"),
    ("document", ".tgme_widget_message_document"),
    ("poll", ".tgme_widget_message_poll"),
    (
        "sticker",
        ".tgme_widget_message_sticker_wrap, .tgme_widget_message_tgsticker_wrap, "
        ".tgme_widget_message_videosticker_wrap",
    ),
    ("location", ".tgme_widget_message_location_wrap, .tgme_widget_message_venue_wrap"),
)


def parse_views(text: str | None) -> int | None:
    """ "15.3K" → 15300, "1.2M" → 1200000, "640" → 640."""
    if not text:
        return None
    match = _VIEWS.match(text.strip())
    if not match:
        return None
    number = float(match.group(1).replace(",", "."))
    return int(round(number * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]))


def _href(value: str | None) -> str | None:
    """A link target, un-escaped once more (t.me double-escapes ``&`` inside text links)."""
    if not value:
        return None
    value = value.strip()
    while "&amp;" in value:
        value = html.unescape(value)
    return value


class TelegramSpider(SourceSpider):
    name = "telegram"
    default_base_url = "https://t.me"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: posts yielded by this run: a post met again (a search result that a channel page also
        #: holds) is not yielded twice, which would count it as "seen again" by the same run
        self._yielded: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        channels: list[str] = self.source.param("channels", [])
        for channel in channels:
            yield self._page_request(channel, page=1)
            for term in self.source.param("search") or []:
                yield self._page_request(channel, page=1, search=term)

    def _page_request(
        self, channel: str, *, page: int, before: str | None = None, search: str | None = None
    ) -> scrapy.Request:
        url = f"{self.base_url}/s/{channel}"
        query = []
        if search:
            query.append(f"q={quote(search)}")
        if before:
            query.append(f"before={before}")
        if query:
            url += "?" + "&".join(query)
        return scrapy.Request(
            url,
            callback=self.parse_page,
            cb_kwargs={"channel": channel, "page": page, "search": search},
        )

    def parse_page(self, response: Response, channel: str, page: int, search: str | None) -> Any:
        response = self.decoded(response)
        stats = self.crawler.stats
        stats.inc_value("telegram/pages")
        if not response.css(".tgme_channel_history, .tgme_widget_message"):
            if response.css(".tme_no_messages_found"):
                return
            stats.inc_value("telegram/no_preview")
            self.logger.warning(
                "%s: no web preview for channel %r (private, renamed, or preview disabled)",
                response.url,
                channel,
            )
            return
        channel_title = _joined(
            response.css(".tgme_channel_info_header_title ::text").getall()
        ) or _joined(response.css("meta[property='og:title']::attr(content)").getall())
        ids = [
            m.attrib.get("data-post", "").strip()
            for m in response.css(".tgme_widget_message[data-post]")
        ]
        # Asked before this page's posts are yielded (and stored): a post stored by an earlier
        # run means the posts behind it were seen. Posts this run yielded already (from a search
        # of the same channel) say nothing about earlier runs.
        more = _before(response)
        known = (
            self.already_stored([i for i in ids if "/" in i and i not in self._yielded])
            if more is not None and search is None
            else set()
        )
        items = []
        for message in response.css(".tgme_widget_message[data-post]"):
            post_id = message.attrib.get("data-post", "").strip()
            if "service_message" in message.attrib.get("class", "").split():
                # "Channel created", "… pinned «…»", "Channel photo updated": not posts
                stats.inc_value("telegram/service_messages")
                continue
            if post_id in self._yielded:
                # already yielded by this run (a search result that a channel page also held)
                stats.inc_value("telegram/duplicate_posts")
                continue
            item = self.post(response, message, channel, channel_title)
            if item is None:
                stats.inc_value("telegram/posts_without_text")
                continue
            self._yielded.add(post_id)
            items.append(item)
        stats.inc_value("telegram/posts", len(items))
        yield from items

        if more is None:
            return  # the start of the channel (or of the search results)
        if page >= self.source.param("max_pages", 5):
            stats.inc_value("telegram/stopped_max_pages")
            return
        if known:
            stats.inc_value("telegram/stopped_known_post")
            return
        yield self._page_request(channel, page=page + 1, before=more, search=search)

    def post(
        self, response: Response, message: Selector, channel: str, channel_title: str | None
    ) -> AdItem | None:
        """One post as an item, or None when it carries nothing a reader could read (a sticker,
        a photo or a voice note alone, "Please open Telegram to view this post")."""
        post_id = message.attrib.get("data-post", "").strip()
        if "/" not in post_id:
            return None
        bubble = message.css(".tgme_widget_message_bubble") or message
        # The post's own text: the first text block that is not part of a quoted reply or a
        # link preview (album captions nest a second text block inside the first).
        text_node = bubble.xpath(
            f".//div[{_has_class('tgme_widget_message_text')}]"
            f"[not(ancestor::*[{_has_class('tgme_widget_message_reply')}])]"
            f"[not(ancestor::*[{_has_class('tgme_widget_message_link_preview')}])]"
        )
        body_html = text_node[0].get() if text_node else ""
        text = html_to_text(body_html)
        links: list[str] = []
        for href in text_node[0].css("a::attr(href)").getall() if text_node else []:
            url = _href(href)
            if url and url.startswith(("http://", "https://")):
                links.append(url)

        extra: dict[str, Any] = {"channel": channel, "channel_title": channel_title}
        forwarded = bubble.css(".tgme_widget_message_forwarded_from")
        advertiser = channel_title
        if forwarded:
            name = _joined(
                forwarded.css(".tgme_widget_message_forwarded_from_name ::text").getall()
            ) or _joined(forwarded.css("::text").getall())
            name = re.sub(r"^\s*Forwarded from\s*", "", name or "").strip()
            extra["forwarded_from"] = {
                "name": name,
                "url": _href(
                    forwarded.css(".tgme_widget_message_forwarded_from_name::attr(href)").get()
                ),
            }
            advertiser = name or advertiser
        author = _joined(bubble.css(".tgme_widget_message_from_author ::text").getall())
        if author:
            extra["author"] = author
        reply = bubble.css(".tgme_widget_message_reply")
        if reply:
            extra["reply_to"] = {
                "url": _href(reply.attrib.get("href")),
                "text": _joined(reply.css(".tgme_widget_message_metatext ::text").getall()),
            }

        parts = [text] if text else []
        parts.extend(_media_texts(bubble, extra))
        preview = bubble.css("a.tgme_widget_message_link_preview")
        if preview:
            info = {
                "url": _href(preview.attrib.get("href")),
                "site_name": _joined(preview.css(".link_preview_site_name ::text").getall()),
                "title": _joined(preview.css(".link_preview_title ::text").getall()),
                "description": _joined(preview.css(".link_preview_description ::text").getall()),
            }
            image = preview.css(".link_preview_image, .link_preview_right_image").attrib.get(
                "style"
            )
            if image and (m := _BG_URL.search(image)):
                info["image"] = m.group(1)
            extra["link_preview"] = info
            seen = " — ".join(
                v for v in (info["site_name"], info["title"], info["description"]) if v
            )
            if seen:
                parts.append(seen)
            if info["url"]:
                links.append(info["url"])
        buttons = []
        for button in bubble.css(".tgme_widget_message_inline_button"):
            label = _joined(button.css(".tgme_widget_message_inline_button_text ::text").getall())
            url = _href(button.attrib.get("href"))
            buttons.append({"text": label, "url": url})
            if label:
                parts.append(f"[{label}]")
            if url and url.startswith(("http://", "https://")):
                links.append(url)
        if buttons:
            extra["buttons"] = buttons

        media = [kind for kind, selector in _MEDIA if bubble.css(selector)]
        if media:
            extra["media"] = media
        unavailable = _joined(bubble.css(".message_media_not_supported_label ::text").getall())
        if unavailable:  # "Media is too big", "Please open Telegram to view this post"
            extra["media_unavailable"] = unavailable
        if not parts:
            return None  # nothing to read: a sticker, a bare photo, an unsupported post

        meta = bubble.css(".tgme_widget_message_meta")
        # the marker is the meta's own text ("edited 14:47"), not a signature's (an author's name)
        meta_text = " ".join(meta.xpath("./text()").getall())
        extra["edited"] = bool(meta) and (
            "edited" in meta_text.lower() or bool(meta.css(".tgme_widget_message_edited"))
        )
        extra["views"] = parse_views(bubble.css(".tgme_widget_message_views::text").get())
        extra["sponsored"] = bool(_SPONSORED.search(text)) or bool(
            bubble.css(".tgme_widget_message_sponsored, .tgme_widget_message_ad_label")
        )
        date_link = bubble.css("a.tgme_widget_message_date")
        permalink = _href(date_link.attrib.get("href")) if date_link else None
        published = _parse_time(
            bubble.css(".tgme_widget_message_date time::attr(datetime)").get()
            or bubble.css(".tgme_widget_message_meta time::attr(datetime)").get()
        )

        # Links to Telegram itself (channels, @mentions, bots) are not landing pages: they are
        # kept as mentions, and not queued for the landing spider.
        internal = {"t.me", "www.t.me", "telegram.me", "telegram.org", "telegram.dog"}
        mentions = [u for u in dict.fromkeys(links) if urlsplit(u).hostname in internal]
        links = [u for u in dict.fromkeys(links) if urlsplit(u).hostname not in internal]
        if mentions:
            extra["mentions"] = mentions
        landing = links[0] if links else None
        return self.item(
            response,
            external_id=post_id,
            text="\n\n".join(parts),
            url=response.urljoin(permalink) if permalink else f"https://t.me/{post_id}",
            landing_url=landing,
            advertiser=advertiser,
            published_at=published,
            links=links,
            extra=extra,
        )


def _has_class(name: str) -> str:
    """An XPath predicate: the element's class list holds ``name`` (not just a prefix of it)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _before(response: Response) -> str | None:
    """The id to page back from: the "more" link's ``data-before``, else its ``?before=``."""
    more = response.css("a.tme_messages_more[data-before]::attr(data-before)").get()
    if more and more.strip().isdigit():
        return more.strip()
    for href in response.css(".tme_messages_more::attr(href), .js-messages_more::attr(href)"):
        match = _BEFORE_PARAM.search(href.get())
        if match:
            return match.group(1)
    return None


def _media_texts(bubble: Selector, extra: dict[str, Any]) -> list[str]:
    """What a reader sees of a post's media besides its caption: a poll's question and options,
    documents' file names (an ``.apk`` is a signal), a venue's name and address."""
    parts = []
    poll = bubble.css(".tgme_widget_message_poll")
    if poll:
        question = _joined(poll.css(".tgme_widget_message_poll_question ::text").getall())
        options = [
            o
            for o in (
                _joined(opt.css("::text").getall())
                for opt in poll.css(".tgme_widget_message_poll_option_text")
            )
            if o
        ]
        extra["poll"] = {"question": question, "options": options}
        parts.append("\n".join([*([question] if question else []), *options]))
    documents = []
    for doc in bubble.css(".tgme_widget_message_document"):
        title = _joined(doc.css(".tgme_widget_message_document_title ::text").getall())
        size = _joined(doc.css(".tgme_widget_message_document_extra ::text").getall())
        if title:
            documents.append({"title": title, "extra": size})
            parts.append(title)
    if documents:
        extra["documents"] = documents
    venue = bubble.css(".tgme_widget_message_venue_wrap")
    if venue:
        name = _joined(venue.css(".tgme_widget_message_venue_title ::text").getall())
        address = _joined(venue.css(".tgme_widget_message_venue_address ::text").getall())
        extra["venue"] = {"title": name, "address": address}
        parts.append(", ".join(v for v in (name, address) if v))
    return [p for p in parts if p]


def _joined(parts: list[str]) -> str | None:
    text = " ".join(p.strip() for p in parts if p.strip())
    return text or None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None
