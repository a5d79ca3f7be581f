"""The landing queue: URLs for the ``landing`` spider, found in ads, certificate logs or config."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select, update
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
    """The oldest pending targets first."""
    return list(
        session.scalars(
            select(LandingTarget)
            .where(LandingTarget.status == "pending")
            .order_by(LandingTarget.queued_at, LandingTarget.id)
            .limit(limit)
        )
    )


def mark_landing_target(session: Session, url: str, status: str, note: str | None = None) -> None:
    """Record what became of a target (fetched, refused as a private address, failed…)."""
    if status not in TARGET_STATUSES:
        raise ValueError(f"unknown landing target status {status!r}")
    session.execute(
        update(LandingTarget)
        .where(LandingTarget.url_hash == url_hash(url))
        .values(
            status=status,
            note=note,
            last_fetched_at=utcnow(),
            fetch_count=LandingTarget.fetch_count + 1,
        )
        .execution_options(synchronize_session=False)
    )
