"""An ad's page, its verdict form, and the ads that share an indicator."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from review.adview import ads_sharing, load_ad_view
from review.verdicts import VERDICTS, apply_verdicts
from review.web import CurrentUser, current_user, get_db, redirect, render
from storage.allowlist import is_platform_domain

router = APIRouter()


@router.get("/ads/{ad_id}")
def ad_page(ad_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    catalog = request.app.state.catalog()
    view = load_ad_view(db, ad_id, catalog)
    if view is None:
        raise HTTPException(404, "no such ad")
    domain = view.ad.landing_domain
    allow_domain_ok = bool(view.ad.landing_url and domain and not is_platform_domain(domain))
    return render(
        request,
        "ad.html",
        {"v": view, "verdicts": VERDICTS, "catalog": catalog, "allow_domain_ok": allow_domain_ok},
    )


@router.post("/ads/{ad_id}/verdict")
def ad_verdict(
    ad_id: int,
    request: Request,
    user: CurrentUser = Depends(current_user),
    status: str = Form(..., max_length=20),
    note: str = Form("", max_length=4000),
    allow_domain: bool = Form(False),
    allow_advertiser: bool = Form(False),
) -> Response:
    if status not in VERDICTS:
        raise HTTPException(400, f"unknown verdict {status!r}")
    with request.app.state.sessions.begin() as db:
        if not apply_verdicts(
            db,
            [ad_id],
            status,
            note=note,
            user=user,
            allow_domain=allow_domain,
            allow_advertiser=allow_advertiser,
        ):
            raise HTTPException(404, "no such ad")
    return redirect(f"/ads/{ad_id}#verdicts")


@router.get("/indicators/{indicator_id}")
def indicator_page(indicator_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    indicator, ads = ads_sharing(db, indicator_id)
    if indicator is None:
        raise HTTPException(404, "no such indicator")
    return render(request, "indicator.html", {"indicator": indicator, "ads": ads})
