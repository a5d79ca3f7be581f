"""Scrapy's meta-refresh handling, without one way hostile pages can break a crawl.

Settings read: those of Scrapy's ``MetaRefreshMiddleware`` (``METAREFRESH_ENABLED``,
``METAREFRESH_IGNORE_TAGS``, ``METAREFRESH_MAXDELAY``).

Scraped pages are hostile: ``<meta http-equiv="refresh" content="0; url=javascript:…">`` made
Scrapy's middleware build a request for a ``javascript:`` URL, which raises, and the page that
carried the tag was lost (a channel could stop its own collection that way). Here a refresh to
anything but http(s) is ignored and the page is kept as it is.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.response import get_meta_refresh


class SafeMetaRefreshMiddleware(MetaRefreshMiddleware):
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if isinstance(response, HtmlResponse):
            _, url = get_meta_refresh(response, ignore_tags=self._ignore_tags)
            if url and urlsplit(urljoin(response.url, url)).scheme.lower() not in ("http", "https"):
                if self.crawler is not None and self.crawler.stats is not None:
                    self.crawler.stats.inc_value("metarefresh/ignored_non_http")
                return response
        return super().process_response(request, response)
