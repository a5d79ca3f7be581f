"""How a crawl run is judged from its stats, and how long a retry waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from crawler.backoff import retry_after_seconds
from crawler.crawlrun import judge

GOOD = {"response_received_count": 4, "robotstxt/response_count": 1, "storage/items": 30}


@pytest.mark.parametrize(
    ("stats", "reason", "status"),
    [
        (GOOD, "finished", "finished"),
        ({**GOOD, "storage/items": 0}, "finished", "empty"),
        ({**GOOD, "storage/items": 0, "log_count/ERROR": 1}, "finished", "failed"),
        ({**GOOD, "storage/items": 0, "robotstxt/forbidden": 2}, "finished", "failed"),
        ({**GOOD, "log_count/ERROR": 1}, "finished", "finished"),  # 1 bad page of 3
        ({**GOOD, "log_count/ERROR": 4}, "finished", "failed"),  # mostly errors
        (
            {**GOOD, "httperror/response_ignored_count": 2, "log_count/ERROR": 1},
            "finished",
            "failed",
        ),
        ({**GOOD, "storage/items_lost": 200}, "finished", "failed"),
        (GOOD, "shutdown", "interrupted"),
        (GOOD, "closespider_timeout", "timeout"),
    ],
)
def test_a_run_is_judged_from_its_stats_like_spidermon_would(
    stats: dict[str, int], reason: str, status: str
) -> None:
    assert judge(stats, reason, 0.5)[0] == status


def test_an_empty_run_and_a_failed_run_say_why() -> None:
    assert judge({"response_received_count": 2}, "finished", 0.5)[2] == "no item from 2 responses"
    _, errors, why = judge({"log_count/ERROR": 3}, "finished", 0.5)
    assert errors == 3 and why == "no item, 3 errors"


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert retry_after_seconds(b"30") == 30.0
    assert (
        retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now)
        == 90.0
    )
    assert (
        retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now)
        == 0.0
    )
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None
