"""Analysts' verdicts from the console: appended to the review log (storage.reviews), with an
optional allowlist entry when the verdict is a false positive."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.web import CurrentUser
from storage.allowlist import add_entry, is_platform_domain
from storage.models import Ad
from storage.reviews import append_review

# ``new`` is where every ad starts; an analyst moves it to one of these (and may change it again).
VERDICTS = ("confirmed", "false_positive", "escalated", "taken_down")


def apply_verdicts(
    session: Session,
    ad_ids: Sequence[int],
    status: str,
    *,
    note: str,
    user: CurrentUser,
    allow_domain: bool = False,
    allow_advertiser: bool = False,
) -> int:
    """Record ``status`` on every existing ad of ``ad_ids``; returns how many."""
    if status not in VERDICTS:
        raise ValueError(f"unknown verdict {status!r}")
    ids = list(dict.fromkeys(ad_ids))
    existing = set(session.scalars(select(Ad.id).where(Ad.id.in_(ids)))) if ids else set()
    done = 0
    for ad_id in ids:
        if ad_id not in existing:
            continue
        append_review(
            session, ad_id, status, reviewer=user.name, note=note.strip() or None, user_id=user.id
        )
        done += 1
        if status == "false_positive" and (allow_domain or allow_advertiser):
            ad = session.get_one(Ad, ad_id)
            why = f"false positive on ad {ad_id}" + (f": {note.strip()}" if note.strip() else "")
            if allow_domain and ad.landing_url and not is_platform_domain(ad.landing_domain):
                add_entry(
                    session,
                    "domain",
                    ad.landing_domain,
                    created_by=user.name,
                    note=why,
                    source_ad_id=ad_id,
                )
            if allow_advertiser and ad.advertiser and ad.advertiser.strip():
                add_entry(
                    session,
                    "advertiser",
                    ad.advertiser,
                    created_by=user.name,
                    note=why,
                    source_ad_id=ad_id,
                )
    return done
