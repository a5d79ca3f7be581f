"""Keeping API secrets out of logs, evidence and the database.

The VK, YouTube and Meta tokens travel in request URLs (``access_token=``, ``key=``) because that
is how those APIs are called, and Meta echoes its token back inside ``paging.next`` and
``ad_snapshot_url``. Three tools keep them from going any further:

- :func:`strip_url_secrets` removes the secret query parameters from a URL (before it is stored,
  queued or written as evidence);
- :func:`redact_text` / :func:`redact_bytes` replace every occurrence of a known secret, and any
  ``access_token=…`` style parameter, in free text or a response body;
- :func:`install` makes every log record of the process redacted at birth (a log-record factory:
  it sees records from every logger, Scrapy's and Twisted's included, whatever handler later
  writes them), plus a :class:`RedactingFilter` for handlers made elsewhere.

The placeholder is ``[REDACTED]``. Evidence of an API response is the redacted body: its SHA-256
is the hash of what was kept, and the WARC says so (see docs/sources.md).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PLACEHOLDER = "[REDACTED]"
# Query parameters that carry a credential in the APIs we call (and in the usual suspects).
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "key",
        "api_key",
        "apikey",
        "token",
        "client_secret",
        "appsecret_proof",
        "oauth_token",
        "sig",
        "signature",
    }
)
_PARAM_RE = re.compile(
    r"(?i)\b(access_token|api_key|apikey|client_secret|appsecret_proof|oauth_token)"
    r"(=|%3D|\"\s*:\s*\"|'\s*:\s*')([^&\s\"'<>\\]+)"
)
# ``key=`` only inside a URL query (``?key=`` / ``&key=``), to spare ordinary words.
_KEY_RE = re.compile(r"(?i)([?&](?:amp;)?(?:key|token)=)([^&\s\"'<>\\]+)")
MIN_SECRET_LEN = 6  # shorter "secrets" would redact ordinary words


def strip_url_secrets(url: str, names: Iterable[str] = SECRET_PARAMS) -> str:
    """``url`` without its credential query parameters; everything else kept in order."""
    try:
        split = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if not split.query:
        return url
    drop = {n.lower() for n in names}
    pairs = parse_qsl(split.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in drop]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(split._replace(query=urlencode(kept)))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and every credential-looking parameter replaced."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LEN and secret in text:
            text = text.replace(secret, PLACEHOLDER)
    if "=" in text or "%3D" in text or ":" in text:
        text = _PARAM_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{PLACEHOLDER}", text)
        text = _KEY_RE.sub(lambda m: f"{m.group(1)}{PLACEHOLDER}", text)
    return text


def redact_bytes(body: bytes, secrets: Iterable[str] = ()) -> bytes:
    """A response body with its secrets replaced (also their JSON-escaped and URL-encoded
    forms, ``\\u0026``-joined URLs included)."""
    if not body:
        return body
    placeholder = PLACEHOLDER.encode()
    for secret in secrets:
        if not secret or len(secret) < MIN_SECRET_LEN:
            continue
        for form in {secret, secret.replace("/", "\\/")}:
            raw = form.encode("utf-8")
            if raw in body:
                body = body.replace(raw, placeholder)
    text = body.decode("utf-8", errors="surrogateescape")
    text = _PARAM_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{PLACEHOLDER}", text)
    text = re.sub(
        r"(?i)((?:[?&]|\\u0026)(?:access_token|key|token)=)([^&\s\"'<>\\]+)",
        lambda m: f"{m.group(1)}{PLACEHOLDER}",
        text,
    )
    return text.encode("utf-8", errors="surrogateescape")


# --------------------------------------------------------------------------- logging


class RedactingFilter(logging.Filter):
    """A handler/logger filter that redacts the record's message (and exception text)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record, self.secrets)
        return True


def _redact_record(record: logging.LogRecord, secrets: tuple[str, ...]) -> None:
    if getattr(record, "_scamradar_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken log call must still be logged, not raised
        message = str(record.msg)
    clean = redact_text(message, secrets)
    if clean != message or record.args:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        text = str(exc)
        clean_exc = redact_text(text, secrets)
        if clean_exc != text:
            # The exception is about to be reported, nothing else reads it: redact its args so
            # that every formatter (and str(exc)) shows the redacted text.
            exc.args = (clean_exc,)
        formatter = logging.Formatter()
        record.exc_text = redact_text(formatter.formatException(record.exc_info), secrets)
    record._scamradar_redacted = True  # type: ignore[attr-defined]


_lock = threading.Lock()
_installed: dict[str, object] = {}


def install(secrets: Iterable[str]) -> RedactingFilter:
    """Redact every log record of this process from now on (idempotent; secrets accumulate).

    Also puts a :class:`RedactingFilter` on the root logger's current handlers, for records made
    before the factory was installed."""
    with _lock:
        known: set[str] = set(_installed.get("secrets", set()))  # type: ignore[arg-type]
        known.update(s for s in secrets if s)
        _installed["secrets"] = known
        frozen = tuple(sorted(known, key=len, reverse=True))
        filt = RedactingFilter(frozen)
        if "factory" not in _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                current = _installed.get("frozen", ())
                _redact_record(record, current)  # type: ignore[arg-type]
                return record

            logging.setLogRecordFactory(factory)
            _installed["factory"] = factory
            _installed["previous"] = previous
        _installed["frozen"] = frozen
        for handler in logging.getLogger().handlers:
            for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(old)
            handler.addFilter(filt)
        return filt


def uninstall() -> None:
    """Undo :func:`install` (tests): the previous record factory and no handler filters."""
    with _lock:
        factory = _installed.pop("factory", None)
        previous = _installed.pop("previous", logging.LogRecord)
        if factory is not None and logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)  # type: ignore[arg-type]
        _installed.clear()
        for handler in logging.getLogger().handlers:
            for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(old)
