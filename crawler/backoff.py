"""Retries with back-off: Scrapy's RetryMiddleware retries at once; this one waits first.

The wait is ``Retry-After`` when the server sends one (seconds or an HTTP date), else
``SCAMRADAR_BACKOFF_BASE * 2**(attempt-1)`` with ±25 % jitter; never more than
``SCAMRADAR_BACKOFF_MAX`` seconds. It waits without blocking the reactor (other requests go on),
and counts ``retry/backoff_seconds``.

Settings read: ``RETRY_ENABLED``, ``RETRY_TIMES``, ``RETRY_HTTP_CODES``, ``RETRY_EXCEPTIONS``,
``RETRY_PRIORITY_ADJUST`` (as Scrapy's), ``SCAMRADAR_BACKOFF_BASE``, ``SCAMRADAR_BACKOFF_MAX``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.utils.response import response_status_message

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, *, now: datetime | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header, or None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: Any):
        super().__init__(settings)
        self.base = settings.getfloat("SCAMRADAR_BACKOFF_BASE", 2.0)
        self.cap = settings.getfloat("SCAMRADAR_BACKOFF_MAX", 120.0)
        if self.base < 0 or self.cap < 0:
            raise NotConfigured("SCAMRADAR_BACKOFF_BASE and SCAMRADAR_BACKOFF_MAX must be >= 0")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        mw = cls(crawler.settings)
        mw.crawler = crawler
        return mw

    def delay_for(self, request: Request, response: Response | None) -> float:
        attempt = request.meta.get("retry_times", 0) + 1
        asked = retry_after_seconds(response.headers.get("Retry-After")) if response else None
        if asked is not None:
            return min(asked, self.cap)
        delay = self.base * 2 ** (attempt - 1)
        return min(delay * random.uniform(0.75, 1.25), self.cap)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(self.delay_for(request, response), request)
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await self._wait(self.delay_for(request, None), request)
        return retry

    async def _wait(self, seconds: float, request: Request) -> None:
        if seconds <= 0:
            return
        logger.debug("waiting %.1f s before retrying %s", seconds, request)
        self.crawler.stats.inc_value("retry/backoff_seconds", round(seconds, 3))
        await asyncio.sleep(seconds)
