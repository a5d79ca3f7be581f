"""Source health: every source's latest run, the crawl-run history, the open alarms."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from review.reports import alerts, run_history, source_health
from review.web import get_db, render

router = APIRouter()


@router.get("/sources")
def sources(
    request: Request, db: Session = Depends(get_db), source: str = Query("", max_length=100)
) -> Response:
    source = source.strip()
    return render(
        request,
        "sources.html",
        {
            "health": source_health(db, datetime.now(UTC)),
            "runs": run_history(db, source or None),
            "alarms": alerts(db),
            "source": source,
        },
    )
