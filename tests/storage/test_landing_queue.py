from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.landing import mark_landing_target, pending_landing_targets, queue_landing_targets
from storage.models import LandingTarget


def test_a_landing_url_is_queued_once_and_leaves_the_queue_when_fetched(session: Session) -> None:
    urls = ["https://halyk-invest.top/?sub1=a", "https://kaspi-bonus.online/"]
    assert queue_landing_targets(session, urls, origin="ad") == 2
    assert queue_landing_targets(session, [urls[0], " "], origin="ctlog") == 0
    pending = pending_landing_targets(session)
    assert [t.url for t in pending] == urls
    assert pending[0].domain == "halyk-invest.top"
    mark_landing_target(session, urls[0], "fetched")
    session.expire_all()
    assert [t.url for t in pending_landing_targets(session)] == urls[1:]


def _age(session: Session, url: str, by: timedelta) -> None:
    """Move the target's retry time back, as if ``by`` had passed."""
    target = session.scalars(select(LandingTarget).where(LandingTarget.url == url)).one()
    assert target.retry_at is not None
    target.retry_at -= by
    session.flush()


def test_a_passing_failure_is_due_again_later_with_a_growing_wait_until_retries_run_out(
    session: Session,
) -> None:
    url = "https://halyk-bonus.online/"
    queue_landing_targets(session, [url], origin="certstream")
    wait = timedelta(hours=1)

    mark_landing_target(session, url, "failed", "host not found", retry_after=wait, retries=2)
    session.expire_all()
    target = pending_or_none(session, url)
    assert target is None  # not due for an hour
    row = session.scalars(select(LandingTarget).where(LandingTarget.url == url)).one()
    assert row.retry_at is not None
    assert timedelta(minutes=59) < row.retry_at - row.last_fetched_at <= wait
    assert "retry 1 of 2" in (row.note or "")

    _age(session, url, wait)
    assert pending_or_none(session, url) is not None
    mark_landing_target(session, url, "failed", "host not found", retry_after=wait, retries=2)
    session.expire_all()
    row = session.scalars(select(LandingTarget).where(LandingTarget.url == url)).one()
    assert row.retry_at - row.last_fetched_at == 4 * wait  # type: ignore[operator]
    assert "retry 2 of 2" in (row.note or "")

    _age(session, url, 4 * wait)
    mark_landing_target(session, url, "failed", "host not found", retry_after=wait, retries=2)
    session.expire_all()
    row = session.scalars(select(LandingTarget).where(LandingTarget.url == url)).one()
    assert (row.status, row.retry_at, row.fetch_count) == ("failed", None, 3)
    assert row.note == "host not found"  # tried 1 + 2 times: failed for good
    assert pending_or_none(session, url) is None


def test_final_failures_and_refusals_are_never_retried(session: Session) -> None:
    urls = ["https://kaspi-gift.top/404", "http://10.0.0.1/"]
    queue_landing_targets(session, urls, origin="ad")
    mark_landing_target(session, urls[0], "failed", "HTTP 404")
    mark_landing_target(session, urls[1], "refused", "private address")
    session.expire_all()
    assert pending_landing_targets(session) == []
    rows = session.scalars(select(LandingTarget)).all()
    assert {r.retry_at for r in rows} == {None}


def test_pending_targets_come_before_retries(session: Session) -> None:
    old, new = "https://bcc-invest.top/", "https://halyk-invest.top/"
    queue_landing_targets(session, [old], origin="ad")
    mark_landing_target(
        session, old, "failed", "timed out", retry_after=timedelta(hours=1), retries=1
    )
    _age(session, old, timedelta(hours=2))
    queue_landing_targets(session, [new], origin="ad")
    session.expire_all()
    assert [t.url for t in pending_landing_targets(session)] == [new, old]
    assert [t.url for t in pending_landing_targets(session, limit=1)] == [new]


def pending_or_none(session: Session, url: str) -> LandingTarget | None:
    return next((t for t in pending_landing_targets(session) if t.url == url), None)
