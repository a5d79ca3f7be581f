"""What the API spiders (``ctlog``, ``vk``, ``youtube``, ``meta_ads``) share.

- **Secrets**: the token comes from the environment only (:class:`crawler.config.AppSettings`);
  every log record of the crawl is redacted (:func:`crawler.redact.install`), and every capture
  is redacted before it becomes evidence: the URL loses its credential parameters, the body and
  headers lose every occurrence of the token (see :meth:`ApiSpider.capture`).
- **API errors** (:class:`~crawler.apis.errors.ApiError`, raised by the parsers in
  :mod:`crawler.apis`) are handled in one place, :meth:`ApiSpider.api_error`: ``RETRY`` waits
  ``SCAMRADAR_BACKOFF_BASE * 2**attempt`` seconds (at least the API's own pause, at most
  ``SCAMRADAR_BACKOFF_MAX``, without blocking the reactor) and asks again, at most
  ``SCAMRADAR_API_RETRIES`` times (default 5; then that request is given up, logged as an
  error, and the others go on); ``FAIL`` / ``SKIP_UNTIL`` log the reason as an
  error and close the spider (``CloseSpider("api_error")``), so the run ends ``failed`` with
  that reason; ``SKIP`` logs a
  warning and goes on. HTTP 429/5xx are first retried by the back-off retry middleware; what
  is left after it gives up reaches the parser and is judged the same way.
- Error bodies (YouTube's 403, Meta's 400, crt.sh's 502 page; VK's errors come with 200) reach
  the callbacks: every API request lists them in ``handle_httpstatus_list`` (redirects are still
  followed).
- robots.txt is not consulted: these are APIs called under their terms, not pages crawled.

Settings read: ``SCAMRADAR_API_RETRIES``, ``SCAMRADAR_BACKOFF_BASE``, ``SCAMRADAR_BACKOFF_MAX``.
Stats: ``api/requests``, ``api/retries``, ``api/errors/<api>/<code>``, ``api/skipped``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from crawler.apis.errors import Action, ApiError
from crawler.config import AppSettings
from crawler.items import Capture
from crawler.redact import install, redact_bytes, redact_text, strip_url_secrets
from crawler.spiders.base import SourceSpider

logger = logging.getLogger(__name__)

DEFAULT_API_RETRIES = 5
# Error statuses whose bodies the parsers read (YouTube's 403, Meta's 400, crt.sh's 502 page);
# redirects are still followed by Scrapy.
API_ERROR_STATUSES = [
    400,
    401,
    403,
    404,
    405,
    408,
    409,
    410,
    413,
    422,
    429,
    500,
    501,
    502,
    503,
    504,
    520,
    521,
    522,
    523,
    524,
]


class ApiSpider(SourceSpider):
    #: the AppSettings attribute holding this API's secret, or None when it needs none
    secret_attr: ClassVar[str | None] = None
    #: the environment variable of that secret, for messages
    secret_env: ClassVar[str | None] = None
    custom_settings: ClassVar[dict[str, Any]] = {"ROBOTSTXT_OBEY": False}

    def __init__(self, source: Any = None, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(source, config, **kwargs)
        app = AppSettings.from_env()
        self.secrets: tuple[str, ...] = app.secrets()
        install(self.secrets)
        self.token: str | None = getattr(app, self.secret_attr) if self.secret_attr else None
        self.closing_reason: str | None = None

    # ------------------------------------------------------------------ settings

    def _setting_float(self, key: str, default: float) -> float:
        return self.crawler.settings.getfloat(key, default)

    @property
    def max_retries(self) -> int:
        return self.crawler.settings.getint("SCAMRADAR_API_RETRIES", DEFAULT_API_RETRIES)

    def require_token(self) -> bool:
        """Log a clear error (the run then fails) when the secret is missing."""
        if self.secret_attr is None or self.token:
            return True
        self.fail(
            f"{self.secret_env} is not set: the {self.name} spider needs it "
            "(secrets come from the environment only, never from sources.yaml)",
            stop=False,
        )
        return False

    # ------------------------------------------------------------------ requests

    def api_request(self, url: str, callback: Callable[..., Any], **meta: Any) -> Request:
        self.crawler.stats.inc_value("api/requests")
        return Request(
            url,
            callback=callback,
            errback=self.api_failed,
            dont_filter=True,
            headers={"Accept": "application/json"},
            meta={"handle_httpstatus_list": API_ERROR_STATUSES, "api_attempt": 0, **meta},
        )

    async def api_failed(self, failure: Any) -> None:
        request = failure.request
        self.crawler.stats.inc_value(f"api/errors/{self.name}/download")
        logger.error(
            "%s: request failed: %s (%s)",
            self.name,
            strip_url_secrets(request.url),
            failure.getErrorMessage(),
        )

    def capture(self, response: Response, kind: str = "api") -> Capture:
        """The response as evidence, with the secrets taken out of its URL, headers and body."""
        cached = response.meta.get("_scamradar_capture")
        if cached is not None and cached.kind == kind:
            return cached  # type: ignore[no-any-return]
        raw = super().capture(response, kind)
        capture = Capture(
            url=redact_text(strip_url_secrets(raw.url), self.secrets),
            status=raw.status,
            headers={k: redact_text(v, self.secrets) for k, v in raw.headers.items()},
            body=redact_bytes(raw.body, self.secrets),
            fetched_at=raw.fetched_at,
            kind=kind,
        )
        response.meta["_scamradar_capture"] = capture
        return capture

    # ------------------------------------------------------------------ errors

    def fail(self, reason: str, *, stop: bool = True) -> None:
        """Log ``reason`` as an error (it becomes the run's error) and, with ``stop``, close the
        spider (raises :class:`CloseSpider`: call it from a callback)."""
        logger.error("%s: %s", self.name, reason)
        self.crawler.stats.set_value("api/fail_reason", reason[:500])
        self.closing_reason = self.closing_reason or reason
        if stop:
            raise CloseSpider("api_error")

    async def api_error(self, exc: ApiError, response: Response) -> AsyncIterator[Request]:
        """What to do after ``exc``: yields the retry request, if any."""
        stats = self.crawler.stats
        stats.inc_value(f"api/errors/{exc.api}/{exc.code if exc.code is not None else exc.status}")
        if exc.action is Action.RETRY:
            attempt = int(response.meta.get("api_attempt", 0))
            middleware_gave_up = int(response.meta.get("retry_times", 0)) > 0 and (
                response.status >= 500 or response.status == 429
            )
            if attempt >= self.max_retries or middleware_gave_up:
                # This request is lost; the others go on (the errors count against the run).
                self.fail(f"{exc.reason} (gave up after {attempt + 1} attempts)", stop=False)
                return
            base = self._setting_float("SCAMRADAR_BACKOFF_BASE", 2.0)
            cap = self._setting_float("SCAMRADAR_BACKOFF_MAX", 120.0)
            delay = base * 2**attempt  # the API's own pause, when it names one, is the least
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            delay = max(0.0, min(delay, cap))
            logger.warning(
                "%s: %s; retrying in %.1f s (attempt %d of %d)",
                self.name,
                exc.reason,
                delay,
                attempt + 1,
                self.max_retries,
            )
            stats.inc_value("api/retries")
            stats.inc_value("retry/backoff_seconds", round(delay, 3))
            if delay:
                await asyncio.sleep(delay)
            request = response.request
            assert request is not None
            meta = {
                k: v
                for k, v in request.meta.items()
                if not k.startswith(("download_", "_scamradar_"))
                and k not in ("retry_times", "depth")
            }
            yield request.replace(dont_filter=True, meta={**meta, "api_attempt": attempt + 1})
            return
        if exc.action is Action.SKIP:
            stats.inc_value("api/skipped")
            logger.warning(
                "%s: skipped %s: %s", self.name, strip_url_secrets(response.url), exc.reason
            )
            return
        if exc.action is Action.SKIP_UNTIL and exc.until is not None:
            stats.set_value(f"{self.name}/quota_until", exc.until.isoformat())
            self.fail(f"{exc.reason} — no further calls before {exc.until.isoformat()}")
            return
        self.fail(exc.reason)
