"""Captured pages, shown safely: as extracted text, or inside a sandboxed frame whose response
forbids scripts, plugins, forms and every network load."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from review.evidence import EvidenceUnavailable, as_text, charset_of, read_capture
from review.web import get_db, render
from storage.models import Ad, Evidence

router = APIRouter()

# The captured page may not run anything or load anything; only our pages may frame it.
FRAME_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)


def _evidence(db: Session, evidence_id: int) -> Evidence:
    ev = db.get(Evidence, evidence_id)
    if ev is None:
        raise HTTPException(404, "no such evidence")
    return ev


@router.get("/evidence/{evidence_id}")
def evidence_page(evidence_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    ev = _evidence(db, evidence_id)
    ad = db.get(Ad, ev.ad_id)
    try:
        capture = read_capture(ev, request.app.state.settings.evidence_dir)
        error = None
        text = as_text(capture)
    except EvidenceUnavailable as exc:
        capture, error, text = None, str(exc), ""
    return render(
        request,
        "evidence.html",
        {"ev": ev, "ad": ad, "capture": capture, "error": error, "text": text},
    )


@router.get("/evidence/{evidence_id}/frame")
def evidence_frame(evidence_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    ev = _evidence(db, evidence_id)
    try:
        capture = read_capture(ev, request.app.state.settings.evidence_dir)
    except EvidenceUnavailable as exc:
        raise HTTPException(404, str(exc)) from None
    ctype = (capture.content_type or "").lower()
    media = "text/html" if "html" in ctype else "text/plain"
    return Response(
        capture.payload,
        media_type=f"{media}; charset={charset_of(capture.content_type)}",
        headers={
            "Content-Security-Policy": FRAME_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )
