"""The request plumbing shared by every route: who is signed in, CSRF, database sessions, and
rendering a template in the user's language.

Access is deny-by-default: :func:`authenticate` runs for every route of the app and refuses
anyone not signed in unless the route's endpoint is marked with :func:`public`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from review.accounts import resume_session
from review.i18n import LOCALE_NAMES, LOCALES, pick_locale, translations

SESSION_COOKIE = "sr_session"
PRE_COOKIE = "sr_presession"  # CSRF token of the sign-in form (double-submit cookie)
LANG_COOKIE = "sr_lang"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

F = TypeVar("F", bound=Callable[..., Any])


def public(fn: F) -> F:
    """Mark a route's endpoint as reachable without signing in."""
    fn.__scamradar_public__ = True  # type: ignore[attr-defined]
    return fn


def is_public(endpoint: object) -> bool:
    return bool(getattr(endpoint, "__scamradar_public__", False))


@dataclass(frozen=True)
class CurrentUser:
    id: int
    name: str
    role: str
    locale: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def safe_next(value: str | None, default: str = "/") -> str:
    """A same-site path to go back to, never an absolute or scheme-relative URL."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def authenticate(request: Request) -> None:
    """Load the signed-in user; refuse anonymous requests to non-public routes."""
    app = request.app
    request.state.user = None
    request.state.csrf = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with app.state.sessions.begin() as db:
            found = resume_session(db, token, hours=app.state.console.session_hours)
            if found is not None:
                u = found.user
                request.state.user = CurrentUser(u.id, u.name, u.role, u.locale)
                request.state.csrf = found.csrf_token
    if request.state.user is None and not is_public(request.scope.get("endpoint")):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method in SAFE_METHODS else "/")


async def csrf_protect(request: Request, _: None = Depends(authenticate)) -> None:
    """Every state-changing request carries the session's CSRF token (or, on the sign-in form,
    the pre-session cookie's) and, when the browser says where it comes from, our own origin."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise HTTPException(403, "cross-origin request refused")
    expected = request.state.csrf or request.cookies.get(PRE_COOKIE)
    sent: object = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get("csrf")
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def current_user(request: Request) -> CurrentUser:
    user: CurrentUser | None = request.state.user
    if user is None:  # only public routes get here without one
        raise LoginRequired("/")
    return user


def require_admin(user: CurrentUser = Depends(current_user)) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(403, "administrators only")
    return user


def request_locale(request: Request) -> str:
    user: CurrentUser | None = getattr(request.state, "user", None)
    return pick_locale(user.locale if user else None, request.cookies.get(LANG_COOKIE))


def query_with(request: Request, **changes: Any) -> str:
    """The current query string with some parameters replaced (None drops one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if value is None or value == "":
            continue
        if isinstance(value, list | tuple):
            params.extend((key, str(v)) for v in value)
        else:
            params.append((key, str(value)))
    return "?" + urlencode(params) if params else "?"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    locale = request_locale(request)
    tr = translations(locale)
    ctx: dict[str, Any] = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf": getattr(request.state, "csrf", None),
        "locale": locale,
        "locales": [(code, LOCALE_NAMES[code]) for code in LOCALES],
        "_": tr.gettext,
        "gettext": tr.gettext,
        "ngettext": tr.ngettext,
        "query_with": lambda **kw: query_with(request, **kw),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    ctx.update(context or {})
    html = request.app.state.templates.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
