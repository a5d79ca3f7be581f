"""Analysts' verdicts: an append-only log, mirrored on ``ads.status``."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from crawler.errors import UserError
from storage.models import REVIEW_STATUSES, Ad, Review


def append_review(
    session: Session,
    ad_id: int,
    status: str,
    *,
    reviewer: str,
    note: str | None = None,
    user_id: int | None = None,
) -> Review:
    """Append a verdict on an ad; the ad's status becomes this verdict."""
    if status not in REVIEW_STATUSES:
        raise UserError(
            f"unknown review status {status!r}; expected one of {', '.join(REVIEW_STATUSES)}"
        )
    if session.get(Ad, ad_id) is None:
        raise UserError(f"no ad with id {ad_id}")
    review = Review(ad_id=ad_id, status=status, reviewer=reviewer, note=note, user_id=user_id)
    session.add(review)
    session.execute(
        update(Ad)
        .where(Ad.id == ad_id)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return review
