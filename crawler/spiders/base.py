"""What every source spider shares: its source config, its endpoint, items and captures.

A spider of kind ``K`` subclasses :class:`SourceSpider`, sets ``name = "K"`` and
``default_base_url``, and implements ``async def start(self)``. It reads its parameters with
``self.source.param("channels")`` and builds URLs from ``self.base_url`` (the source's
``base_url`` when set: mirrors, proxies, the tests' local server).

Run by ``scamradar crawl NAME`` (the source config is passed in), or by plain Scrapy:
``scrapy crawl telegram -a source=NAME [-a config=sources.yaml]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response, TextResponse
from w3lib.encoding import html_body_declared_encoding
from w3lib.html import remove_tags, replace_entities

from crawler.context import get_context
from crawler.items import AdItem, Capture
from crawler.sources import SourceConfig

logger = logging.getLogger(__name__)

_BR = re.compile(r"<br\s*/?>|</(?:p|div|li|blockquote|pre|h[1-6]|tr|ul|ol)\s*>", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, with line breaks where <br> and the ends of block
    elements (</p>, </div>, </li>, </blockquote>, </pre>, headings, rows) were."""
    return replace_entities(remove_tags(_BR.sub("\n", html))).strip()


class SourceSpider(scrapy.Spider):
    name: ClassVar[str] = "source"
    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        source: SourceConfig | str | None = None,
        config: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if source is None:
            raise ValueError(
                f"the {self.name} spider needs a source: scamradar crawl NAME, "
                f"or scrapy crawl {self.name} -a source=NAME"
            )
        if isinstance(source, str):
            source = self._load_source(source, config)
        if source.spider != self.name:
            raise ValueError(
                f"source {source.name!r} is a {source.spider!r} source, not {self.name!r}"
            )
        self.source_config: SourceConfig = source

    @staticmethod
    def _load_source(name: str, config: str | None) -> SourceConfig:
        from crawler.config import AppSettings
        from crawler.sources import load_sources

        path = config or AppSettings.from_env().sources_path
        return load_sources(path).get(name)

    @property
    def source(self) -> SourceConfig:
        return self.source_config

    @property
    def base_url(self) -> str:
        return (self.source_config.base_url or self.default_base_url).rstrip("/")

    # ------------------------------------------------------------------ items and captures

    def capture(self, response: Response, kind: str = "page") -> Capture:
        """The response as evidence; one Capture per response, shared by all its items."""
        cached = response.meta.get("_scamradar_capture")
        if cached is not None and cached.kind == kind:
            return cached  # type: ignore[no-any-return]
        headers = {
            k.decode("latin-1"): b", ".join(v).decode("latin-1")
            for k, v in response.headers.items()
        }
        capture = Capture(
            url=response.url,
            status=response.status,
            headers=headers,
            body=response.body,
            fetched_at=datetime.now(UTC),
            kind=kind,
        )
        response.meta["_scamradar_capture"] = capture
        return capture

    def item(self, response: Response, **fields: Any) -> AdItem:
        kind = fields.pop("capture_kind", "page")
        return AdItem(
            source=self.source_config.name,
            spider=self.name,
            captures=[self.capture(response, kind)],
            **fields,
        )

    def already_stored(self, external_ids: Iterable[str]) -> set[str]:
        """Which of these posts this source stored in an earlier run (empty without a database)."""
        ctx = get_context(self.crawler)
        if ctx is None:
            return set()
        return ctx.stored_external_ids(external_ids)

    # ------------------------------------------------------------------ decoding

    def decoded(self, response: Response) -> TextResponse:
        """``response`` with an encoding that actually decodes its body.

        Servers lie: a cp1251 page declared as UTF-8, or no charset at all (Scrapy then guesses
        cp1252 for non-UTF-8 bytes, which turns Cyrillic into Latin garbage). When the body is
        not valid in the encoding Scrapy picked, try UTF-8, then cp1251 (the usual legacy
        encoding of Russian and Kazakh sites), and count ``spider/charset_fixed``.
        """
        if not isinstance(response, TextResponse):
            response = TextResponse(
                url=response.url,
                status=response.status,
                headers=response.headers,
                body=response.body,
                request=response.request,
            )
        body = response.body
        declared = response._declared_encoding()  # noqa: SLF001 - Scrapy's own detection
        current = response.encoding
        if _decodes(body, current) and (declared or current.lower() in ("utf-8", "utf8", "ascii")):
            return response
        candidates = ["utf-8", "cp1251"]
        body_declared = html_body_declared_encoding(body)
        if body_declared and body_declared.lower() != (declared or "").lower():
            candidates.insert(0, body_declared)
        for encoding in candidates:
            if encoding.lower() != current.lower() and _decodes(body, encoding):
                self.crawler.stats.inc_value("spider/charset_fixed")
                logger.info("%s: body is not %s; decoded as %s", response.url, current, encoding)
                return response.replace(encoding=encoding)  # type: ignore[return-value]
        return response


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True
