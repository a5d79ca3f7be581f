"""How landing pages are fetched: headers, settings, target URLs, failure reasons.

The request side of the ``landing`` spider (``crawler/spiders/landing.py``), kept apart so that
the spider module holds the crawl logic only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseNeverReceived

#: A current Android Chrome; overridden by the ``SCAMRADAR_MOBILE_USER_AGENT`` setting.
DEFAULT_MOBILE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.6668.100 Mobile Safari/537.36"
)
MOBILE_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8",
    "Accept-Language": "ru-KZ,ru;q=0.9,kk-KZ;q=0.8,kk;q=0.7,en-US;q=0.6,en;q=0.5",
    "Sec-CH-UA-Mobile": "?1",
    "Sec-CH-UA-Platform": '"Android"',
    "Upgrade-Insecure-Requests": "1",
}
BOT_HEADERS = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "Accept-Language": "en"}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_OPAQUE_SCHEME = re.compile(
    r"^(?:javascript|mailto|tel|sms|data|file|about|blob|tg|viber|whatsapp|intent):", re.IGNORECASE
)
#: Both fetches take 4xx/5xx answers into their callbacks: for the phone a dead page is an
#: outcome of the target (failed, "HTTP 404"), for the bot a 404 against a 200 is cloaking.
BOT_STATUSES = list(range(400, 600))
DEFAULT_MAX_TARGETS = 500
#: Landing-specific Scrapy settings (a page is small; a kit serving 100 MB is not a page).
LANDING_SETTINGS: dict[str, Any] = {
    "ROBOTSTXT_OBEY": False,
    "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    "REDIRECT_MAX_TIMES": 10,
    "METAREFRESH_MAXDELAY": 15,
    "RETRY_TIMES": 1,
    # A dead scam page (gone domain, 404, timeout) is an outcome recorded on its target and in
    # landing/failed/<reason>, not a crawl error; see closed() for the run-level health check.
    "RETRY_GIVE_UP_LOG_LEVEL": "WARNING",
}
#: At least this many targets, all failed for network reasons → the run logs an error (failed).
ALL_FAILED_MIN_TARGETS = 3


def rebase(url: str, base_url: str | None) -> str:
    """``url`` served from ``base_url`` when one is configured (path and query kept)."""
    if not base_url:
        return url
    parts = urlsplit(url)
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + (parts.path or "/")
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


def target_url(raw: str) -> str:
    """A queued target as a URL: a bare domain (certificate logs queue those, wildcards
    included) becomes ``https://<domain>/``; a URL with a scheme is left as it is (the guard
    refuses what is not http(s))."""
    value = raw.strip()
    if _SCHEME.match(value) or _OPAQUE_SCHEME.match(value):
        return value
    host, _, rest = value.partition("/")
    return f"https://{host.removeprefix('*.').strip('.')}/{rest}"


# Failures that may pass (the site not up yet, overloaded, rate-limiting us): the target is due
# again in a later run (storage.landing). The others (bad URL, 404, not HTML, too large) are final.
PASSING_FAILURES = frozenset(
    {"timeout", "dns", "connection_refused", "no_response", "truncated", "error"}
)
PASSING_STATUSES = frozenset({408, 425, 429, *range(500, 600)})


def describe_failure(failure: Failure) -> tuple[str, str]:
    """A short reason code and a readable detail for a failed download."""
    if failure.check(HttpError):
        status = failure.value.response.status
        return "http_status", f"HTTP {status}"
    if failure.check(DownloadTimeoutError, TimeoutError, TCPTimedOutError):
        return "timeout", f"timed out: {failure.getErrorMessage()}"
    if failure.check(DNSLookupError, CannotResolveHostError):
        return "dns", f"host not found: {failure.getErrorMessage()}"
    if failure.check(ConnectionRefusedError, DownloadConnectionRefusedError):
        return "connection_refused", "connection refused"
    if failure.check(DownloadCancelledError, CancelledError):
        return (
            "too_large",
            f"download cancelled: {failure.getErrorMessage() or 'over DOWNLOAD_MAXSIZE'}",
        )
    if failure.check(ResponseDataLossError):
        return "truncated", f"truncated body: {failure.getErrorMessage()}"
    if failure.check(ResponseNeverReceived):
        return "no_response", f"no response: {failure.getErrorMessage()}"
    return "error", f"{failure.type.__name__}: {failure.getErrorMessage()}"
