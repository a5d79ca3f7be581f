"""Normalise: tidy the text a spider extracted, before the rules and the database see it.

- Unicode NFC (the rules do their own folding; the stored text keeps what the ad said), control
  characters removed, runs of spaces collapsed, at most one blank line in a row, trimmed;
  text capped at ``SCAMRADAR_MAX_TEXT`` characters (default 100 000).
- ``links`` keeps http(s) URLs only, once each, at most 50; ``landing_url`` must be http(s).
- A naive ``published_at`` is taken as UTC.
- ``language`` is guessed when the spider did not say: ``kk`` when Kazakh-only letters appear,
  ``ru`` for other Cyrillic, ``en`` for Latin text.
- An item with neither text nor title is dropped (``normalise/dropped_empty``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC
from typing import TYPE_CHECKING

from scrapy.exceptions import DropItem

from crawler.items import AdItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

MAX_LINKS = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n\s*\n(\s*\n)+")
_KAZAKH = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_LATIN = re.compile(r"[a-zA-Z]")


def clean_text(value: str | None, limit: int = 100_000) -> str:
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANKS.sub("\n\n", text).strip()
    return text[:limit]


def guess_language(text: str) -> str | None:
    if _KAZAKH.search(text):
        return "kk"
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    if cyrillic == latin == 0:
        return None
    return "ru" if cyrillic >= latin else "en"


def _http(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(("http://", "https://"))  # type: ignore[union-attr]


class NormalisePipeline:
    """Settings read: ``SCAMRADAR_MAX_TEXT``."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats
        self.limit = crawler.settings.getint("SCAMRADAR_MAX_TEXT", 100_000)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: AdItem) -> AdItem:
        if not isinstance(item, AdItem):
            raise DropItem(f"not an AdItem: {type(item).__name__}")
        item.text = clean_text(item.text, self.limit)
        item.title = clean_text(item.title, 2000) or None
        item.advertiser = clean_text(item.advertiser, 500) or None
        if not item.text and not item.title:
            self.stats.inc_value("normalise/dropped_empty")
            raise DropItem(f"no text in {item.url or item.external_id}")
        if item.external_id is not None:
            item.external_id = item.external_id.strip()[:255] or None
        links = [u.strip() for u in item.links if _http(u)]
        item.links = list(dict.fromkeys(links))[:MAX_LINKS]
        if item.landing_url is not None and not _http(item.landing_url):
            item.landing_url = None
        if item.published_at is not None and item.published_at.tzinfo is None:
            item.published_at = item.published_at.replace(tzinfo=UTC)
        if not item.language:
            item.language = guess_language(f"{item.title or ''} {item.text}")
        return item
