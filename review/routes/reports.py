"""Per-brand reports (printable), and the trends for the forecasting centre (chart + CSV)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from review.charts import bar, line_chart, swatch
from review.reports import brand_report, brand_totals, trend
from review.web import get_db, render

router = APIRouter()
TREND_DAYS = (7, 14, 30, 90, 180, 365)


@router.get("/brands")
def brands(request: Request, db: Session = Depends(get_db)) -> Response:
    totals = brand_totals(db)
    catalog = request.app.state.catalog()
    known = {b for b, _ in totals}
    quiet = sorted(k for k in catalog.brands if k not in known)
    peak = max((n for _, n in totals), default=0)
    return render(
        request,
        "brands.html",
        {"totals": totals, "quiet": quiet, "catalog": catalog, "bar": bar, "peak": peak},
    )


@router.get("/brands/{brand}")
def brand_page(brand: str, request: Request, db: Session = Depends(get_db)) -> Response:
    brand = brand.strip().lower()[:64]
    catalog = request.app.state.catalog()
    report = brand_report(db, brand, catalog, datetime.now(UTC))
    if report.total == 0 and brand not in catalog.brands:
        raise HTTPException(404, "no such brand")
    return render(request, "brand.html", {"r": report, "catalog": catalog, "bar": bar})


def _days(days: int) -> int:
    return days if days in TREND_DAYS else 30


@router.get("/trends")
def trends(
    request: Request,
    db: Session = Depends(get_db),
    days: int = Query(30),
    brand: str = Query("", max_length=64),
) -> Response:
    days = _days(days)
    now = datetime.now(UTC)
    brand = brand.strip().lower()
    by_label = trend(db, by="label", days=days, now=now, brand=brand or None)
    by_brand = trend(db, by="brand", days=days, now=now, brand=brand or None)
    render_ctx = {
        "days": days,
        "day_choices": TREND_DAYS,
        "brand": brand,
        "by_label": by_label,
        "by_brand": by_brand,
        "chart": line_chart,
        "swatch": swatch,
        "catalog": request.app.state.catalog(),
    }
    return render(request, "trends.html", render_ctx)


@router.get("/trends.csv")
def trends_csv(
    db: Session = Depends(get_db),
    days: int = Query(30),
    by: str = Query("label", pattern="^(label|brand)$"),
    brand: str = Query("", max_length=64),
) -> Response:
    days = _days(days)
    data = trend(db, by=by, days=days, now=datetime.now(UTC), brand=brand.strip().lower() or None)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["date", *data.series])
    writer.writerows(data.rows())
    return Response(
        ("\ufeff" + buf.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="scamradar-hits-by-{by}-{days}d.csv"'
        },
    )
