"""Secrets never reach a log line, a stored URL or evidence."""

from __future__ import annotations

import logging

import pytest

from crawler.redact import (
    PLACEHOLDER,
    install,
    redact_bytes,
    redact_text,
    strip_url_secrets,
    uninstall,
)

SECRET = "tok_SECRET_123"


@pytest.fixture
def redacting():
    install([SECRET])
    try:
        yield
    finally:
        uninstall()


def test_credential_parameters_are_removed_from_urls_and_the_rest_kept_in_order():
    url = f"https://graph.facebook.com/v24.0/ads_archive?access_token={SECRET}&fields=id&after=x"
    assert (
        strip_url_secrets(url) == "https://graph.facebook.com/v24.0/ads_archive?fields=id&after=x"
    )
    assert strip_url_secrets("https://x/search?q=a&key=K1") == "https://x/search?q=a"
    assert strip_url_secrets("https://x/a?b=1") == "https://x/a?b=1"


def test_known_secrets_and_token_parameters_are_redacted_in_text():
    text = f"GET /method/wall.get?v=5.199&access_token={SECRET} and later {SECRET}"
    clean = redact_text(text, [SECRET])
    assert SECRET not in clean and clean.count(PLACEHOLDER) == 2
    assert "access_token=[REDACTED]" in redact_text("?access_token=abcdef123&x=1")
    assert "key=[REDACTED]" in redact_text("https://h/youtube/v3/search?q=x&key=AIzaSyFAKE")


def test_secrets_are_redacted_in_json_bodies_in_every_form():
    body = (
        b'{"next":"https:\\/\\/graph.facebook.com\\/x?access_token='
        + SECRET.encode()
        + b'\\u0026after=1","u":"https://x/?id=1&access_token=OTHERTOKEN99"}'
    )
    clean = redact_bytes(body, [SECRET])
    assert SECRET.encode() not in clean and b"OTHERTOKEN99" not in clean
    assert b"after=1" in clean


def test_every_log_record_is_redacted_whatever_logger_writes_it(redacting, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("scrapy.core.engine").debug("Crawled (200) <GET https://h/?key=%s>", SECRET)
    try:
        raise ValueError(f"bad url https://h/?access_token={SECRET}")
    except ValueError:
        logging.getLogger("twisted").error("boom", exc_info=True)
    assert SECRET not in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)
