"""Signing in and out, the interface language, and the unauthenticated health check."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from review.accounts import authenticate, end_session, start_session
from review.i18n import LOCALES, pick_locale
from review.web import (
    LANG_COOKIE,
    PRE_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    current_user,
    public,
    redirect,
    render,
    safe_next,
)
from storage.models import User

router = APIRouter()


def cookie_secure(request: Request) -> bool:
    mode = request.app.state.console.cookie_secure
    return request.url.scheme == "https" if mode == "auto" else mode == "1"


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )


@router.get("/health")
@public
def health(request: Request) -> JSONResponse:
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - the health check reports, it does not raise
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/login")
@public
def login_form(request: Request, next: str = "/", failed: int = 0) -> Response:  # noqa: A002
    if request.state.user is not None:
        return redirect(safe_next(next))
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "pre_csrf": token,
            "next": safe_next(next),
            "failed": bool(failed),
            "throttled": failed == 2,
        },
        status=200,
    )
    _set_cookie(request, response, PRE_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
@public
def login(
    request: Request,
    name: str = Form("", max_length=100),
    password: str = Form("", max_length=1000),
    next: str = Form("/", max_length=2000),  # noqa: A002
) -> Response:
    from urllib.parse import quote

    app = request.app
    client = f"ip:{request.client.host if request.client else '?'}"
    back = f"/login?next={quote(safe_next(next), safe='')}"
    if app.state.throttle.blocked(f"name:{name}", client):
        return redirect(back + "&failed=2")
    with app.state.sessions.begin() as db:
        user = authenticate(db, name.strip(), password)
        if user is None:
            app.state.throttle.failed(f"name:{name}", client)
            return redirect(back + "&failed=1")
        app.state.throttle.succeeded(f"name:{name}")
        new = start_session(db, user, hours=app.state.console.session_hours)
        locale = user.locale
    response = redirect(safe_next(next))
    _set_cookie(
        request,
        response,
        SESSION_COOKIE,
        new.token,
        max_age=int(app.state.console.session_hours * 3600),
    )
    response.delete_cookie(PRE_COOKIE, path="/")
    _set_cookie(request, response, LANG_COOKIE, locale, max_age=365 * 86400)
    return response


@router.post("/logout")
def logout(request: Request, user: CurrentUser = Depends(current_user)) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    with request.app.state.sessions.begin() as db:
        end_session(db, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/locale")
@public
def set_locale(
    request: Request,
    lang: str = Form(..., max_length=5),
    next: str = Form("/", max_length=2000),  # noqa: A002
) -> Response:
    locale = pick_locale(lang if lang in LOCALES else None)
    user: CurrentUser | None = request.state.user
    if user is not None:
        with request.app.state.sessions.begin() as db:
            row = db.get(User, user.id)
            if row is not None:
                row.locale = locale
    response = redirect(safe_next(next))
    _set_cookie(request, response, LANG_COOKIE, locale, max_age=365 * 86400)
    return response
