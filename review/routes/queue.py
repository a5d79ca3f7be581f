"""The review queue and its bulk verdicts."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from review.queue import (
    PER_PAGE_CHOICES,
    FilterChoices,
    QueueParams,
    filter_choices,
    run_queue,
)
from review.verdicts import VERDICTS, apply_verdicts
from review.web import CurrentUser, current_user, get_db, redirect, render, safe_next
from storage.models import FLAGGED_LABELS, REVIEW_STATUSES

router = APIRouter()
MAX_BULK = 500
CHOICES_TTL = 60.0  # seconds: new brands, rules and sources appear in the drop-downs this late


def _choices(request: Request, db: Session) -> FilterChoices:
    cached = getattr(request.app.state, "filter_choices", None)
    now = time.monotonic()
    if cached is None or now - cached[0] > CHOICES_TTL:
        cached = (now, filter_choices(db))
        request.app.state.filter_choices = cached
    return cached[1]


@router.get("/")
def queue(request: Request, db: Session = Depends(get_db)) -> Response:
    params = QueueParams.parse(request.query_params)
    result = run_queue(db, params)
    return render(
        request,
        "queue.html",
        {
            "p": params,
            "result": result,
            "choices": _choices(request, db),
            "labels": FLAGGED_LABELS,
            "statuses": REVIEW_STATUSES,
            "verdicts": VERDICTS,
            "per_page_choices": PER_PAGE_CHOICES,
            "catalog": request.app.state.catalog(),
        },
    )


@router.post("/ads/bulk")
def bulk_verdict(
    request: Request,
    user: CurrentUser = Depends(current_user),
    ad: list[int] = Form([]),
    page_ad: list[int] = Form([]),
    scope: str = Form("selected", max_length=20),
    status: str = Form(..., max_length=20),
    note: str = Form("", max_length=4000),
    next: str = Form("/", max_length=4000),  # noqa: A002
) -> Response:
    if status not in VERDICTS:
        raise HTTPException(400, f"unknown verdict {status!r}")
    if scope == "page":
        ad = page_ad
    if len(ad) > MAX_BULK:
        raise HTTPException(400, f"at most {MAX_BULK} ads at once")
    if ad:
        with request.app.state.sessions.begin() as db:
            apply_verdicts(db, ad, status, note=note, user=user)
    return redirect(safe_next(next))
