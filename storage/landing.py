"""The landing queue: URLs for the ``landing`` spider, found in ads, certificate logs or config.

A target is fetched once. One that failed for a passing reason (a timeout, DNS, a refused
connection, 429 or 5xx: a look-alike domain is often registered days before its site is up) is
due again later, with a growing wait (``retry_after``, then 4×, 16× …), until it has been tried
``1 + retries`` times; then it stays ``failed`` for good. Refused targets (private addresses) and
permanent failures (404, not HTML, not a URL) are never retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import LandingTarget, utcnow
from storage.sightings import registrable_host

TARGET_STATUSES = ("pending", "fetched", "refused", "failed")


def url_hash(url: str) -> str:
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()


def queue_landing_targets(
    session: Session, urls: Iterable[str], *, origin: str, origin_ad_id: int | None = None
) -> int:
    """Queue URLs not queued before; returns how many are new."""
    wanted = {url_hash(u): u.strip() for u in urls if u and u.strip()}
    if not wanted:
        return 0
    known = set(
        session.scalars(select(LandingTarget.url_hash).where(LandingTarget.url_hash.in_(wanted)))
    )
    fresh = [
        LandingTarget(
            url=url,
            url_hash=h,
            domain=registrable_host(url),
            origin=origin,
            origin_ad_id=origin_ad_id,
            status="pending",
        )
        for h, url in wanted.items()
        if h not in known
    ]
    session.add_all(fresh)
    session.flush()
    return len(fresh)


def pending_landing_targets(session: Session, *, limit: int = 500) -> list[LandingTarget]:
    """The targets due: pending ones, oldest first, then failed ones whose retry time has come."""
    now = utcnow()
    return list(
        session.scalars(
            select(LandingTarget)
            .where(
                or_(
                    LandingTarget.status == "pending",
                    (LandingTarget.status == "failed") & (LandingTarget.retry_at <= now),
                )
            )
            .order_by(
                (LandingTarget.status != "pending"), LandingTarget.queued_at, LandingTarget.id
            )
            .limit(limit)
        )
    )


def mark_landing_target(
    session: Session,
    url: str,
    status: str,
    note: str | None = None,
    *,
    retry_after: timedelta | None = None,
    retries: int = 0,
) -> None:
    """Record what became of a target (fetched, refused as a private address, failed…).

    ``retry_after``: the failure is passing; the target is due again after this wait times 4 for
    every earlier retry, as long as it has been tried at most ``retries`` times before.
    """
    if status not in TARGET_STATUSES:
        raise ValueError(f"unknown landing target status {status!r}")
    h = url_hash(url)
    now = utcnow()
    retry_at = None
    if status == "failed" and retry_after is not None:
        tried = session.scalar(select(LandingTarget.fetch_count).where(LandingTarget.url_hash == h))
        if tried is not None and tried < retries:
            retry_at = now + retry_after * 4**tried
            note = f"{note} (retry {tried + 1} of {retries} due {retry_at:%Y-%m-%d %H:%M} UTC)"
    session.execute(
        update(LandingTarget)
        .where(LandingTarget.url_hash == h)
        .values(
            status=status,
            note=note,
            last_fetched_at=now,
            fetch_count=LandingTarget.fetch_count + 1,
            retry_at=retry_at,
        )
        .execution_options(synchronize_session=False)
    )
