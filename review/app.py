"""The console's application factory: ``create_app()`` builds a FastAPI app on the configured
database. Nothing happens at import time; the engine is disposed of when the app shuts down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crawler.config import AppSettings
from review.config import ConsoleSettings
from review.i18n import format_date, format_datetime
from review.rulesinfo import load_catalog
from review.web import LoginRequired, csrf_protect, redirect, render
from storage.db import make_engine, session_factory

# Every page: nothing but our own stylesheet and images, no script at all, no framing, forms
# only to ourselves. Captured pages are served by review.routes.evidence with their own, stricter
# policy (a sandbox with no scripts), and may be framed by our pages only.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class SecurityHeaders:
    """Adds the security headers to every response that does not set its own; pages that show
    data are not cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if key not in present:
                        headers.append((key, value))
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(files("review") / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = format_datetime
    env.filters["dts"] = lambda v: format_datetime(v, seconds=True)
    env.filters["d"] = format_date
    env.filters["score"] = lambda v: "—" if v is None else f"{v:.2f}"
    return env


def create_app(
    settings: AppSettings | None = None, console: ConsoleSettings | None = None
) -> FastAPI:
    settings = settings or AppSettings.from_env()
    console = console or ConsoleSettings.from_env()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="scamradar console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect)],
    )
    app.state.settings = settings
    app.state.console = console
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.templates = make_templates()
    app.state.catalog = cache(load_catalog)  # the rule data, loaded on first use

    from review.accounts import LoginThrottle
    from review.routes import ROUTERS

    app.state.throttle = LoginThrottle()
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(files("review") / "static")), name="static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("sign in first", status_code=401)
        return redirect(f"/login?next={quote(exc.next_url, safe='')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if getattr(request.state, "user", None) is None or exc.status_code == 405:
            return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            status=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems: list[Any] = [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return PlainTextResponse("bad request: " + "; ".join(problems), status_code=400)

    return app
