from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from review.web import is_public
from storage.db import make_engine, session_factory
from storage.models import ConsoleSession, User

PUBLIC_PATHS = {"/health", "/login", "/locale"}


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every endpoint of the app, through included routers however FastAPI nests them."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif getattr(route, "original_router", None) is not None:
            yield from _api_routes(route.original_router.routes)
        elif getattr(route, "routes", None) and not getattr(route, "path", "").startswith(
            "/static"
        ):
            yield from _api_routes(route.routes)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_health_and_sign_in_refuses_anonymous_requests(
    kit: Any, anonymous: TestClient
) -> None:
    routes = list(_api_routes(anonymous.app.routes))  # type: ignore[attr-defined]
    assert len(routes) > 15
    for route in routes:
        public = is_public(route.endpoint)
        assert public == (route.path in PUBLIC_PATHS), route.path
        if public:
            continue
        for method in route.methods:
            r = anonymous.request(method, _concrete(route.path))
            if method == "GET":
                assert r.status_code == 303, (method, route.path, r.status_code)
                assert r.headers["location"].startswith("/login?next="), route.path
            else:
                assert r.status_code in (401, 403), (method, route.path, r.status_code)
            assert "scamradar" not in r.text or r.status_code == 303


def test_health_and_static_files_are_reachable_without_signing_in(
    kit: Any, anonymous: TestClient
) -> None:
    assert anonymous.get("/health").json() == {"status": "ok"}
    css = anonymous.get("/static/console.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_sign_in_with_the_right_password_opens_the_queue_and_sets_a_safe_cookie(
    kit: Any, seeded: Any
) -> None:
    with kit.make_client(seeded) as client:
        client.get("/login")
        r = client.post(
            "/login",
            data={
                "name": "analyst1",
                "password": kit.PASSWORD,
                "csrf": client.cookies.get("sr_presession"),
                "next": "/brands",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/brands"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("sr_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http in auto mode
        assert client.get("/").status_code == 200


def test_session_cookie_is_secure_when_configured(kit: Any, seeded: Any) -> None:
    with kit.make_client(seeded, base_url="https://testserver", cookie_secure="1") as client:
        client.get("/login")
        r = client.post(
            "/login",
            data={
                "name": "analyst1",
                "password": kit.PASSWORD,
                "csrf": client.cookies.get("sr_presession"),
            },
        )
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("sr_session="))
        assert "Secure" in cookie


def test_wrong_password_or_unknown_name_is_refused(kit: Any, anonymous: TestClient) -> None:
    anonymous.get("/login")
    token = anonymous.cookies.get("sr_presession")
    for name, password in (("analyst1", "wrong password!"), ("nobody", kit.PASSWORD)):
        r = anonymous.post("/login", data={"name": name, "password": password, "csrf": token})
        assert r.status_code == 303 and "failed=1" in r.headers["location"]
        assert "sr_session" not in anonymous.cookies
    assert anonymous.get("/").status_code == 303


def test_repeated_failures_throttle_sign_in(kit: Any, anonymous: TestClient) -> None:
    anonymous.get("/login")
    token = anonymous.cookies.get("sr_presession")
    for _ in range(5):
        anonymous.post(
            "/login", data={"name": "analyst1", "password": "wrong password!", "csrf": token}
        )
    r = anonymous.post("/login", data={"name": "analyst1", "password": kit.PASSWORD, "csrf": token})
    assert "failed=2" in r.headers["location"]


def test_sign_in_form_without_its_csrf_token_is_refused(kit: Any, anonymous: TestClient) -> None:
    anonymous.get("/login")
    r = anonymous.post("/login", data={"name": "analyst1", "password": kit.PASSWORD})
    assert r.status_code == 403
    r = anonymous.post(
        "/login", data={"name": "analyst1", "password": kit.PASSWORD, "csrf": "forged"}
    )
    assert r.status_code == 403


def test_forms_without_the_session_csrf_token_are_refused(
    kit: Any, analyst: TestClient, seeded: Any
) -> None:
    r = analyst.post(f"/ads/{seeded.halyk}/verdict", data={"status": "confirmed"})
    assert r.status_code == 403
    r = analyst.post(f"/ads/{seeded.halyk}/verdict", data={"status": "confirmed", "csrf": "x" * 43})
    assert r.status_code == 403
    token = kit.csrf_of(analyst)
    r = analyst.post(
        f"/ads/{seeded.halyk}/verdict",
        data={"status": "confirmed", "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    r = analyst.post(f"/ads/{seeded.halyk}/verdict", data={"status": "confirmed", "csrf": token})
    assert r.status_code == 303


def test_logout_ends_the_session_on_the_server(kit: Any, seeded: Any) -> None:
    with kit.make_client(seeded) as client:
        kit.sign_in(client, "analyst1")
        stolen = client.cookies.get("sr_session")
        r = client.post("/logout", data={"csrf": kit.csrf_of(client)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert client.get("/").status_code == 303
    with kit.make_client(seeded) as replay:
        replay.cookies.set("sr_session", stolen)
        assert replay.get("/").status_code == 303


def test_sessions_store_only_a_hash_of_the_token_and_passwords_use_argon2id(
    kit: Any, analyst: TestClient, seeded: Any
) -> None:
    engine = make_engine(seeded.url)
    try:
        with session_factory(engine)() as s:
            ids = list(s.scalars(select(ConsoleSession.id)))
            hashes = list(s.scalars(select(User.password_hash)))
    finally:
        engine.dispose()
    assert analyst.cookies.get("sr_session") not in ids
    assert all(h.startswith("$argon2id$") for h in hashes)


def test_an_analyst_cannot_manage_users(kit: Any, analyst: TestClient, seeded: Any) -> None:
    assert analyst.get("/admin/users").status_code == 403
    token = kit.csrf_of(analyst)
    r = analyst.post(
        "/admin/users",
        data={"name": "mallory", "password": kit.PASSWORD, "role": "admin", "csrf": token},
    )
    assert r.status_code == 403
    r = analyst.post("/admin/users/1", data={"action": "role", "role": "admin", "csrf": token})
    assert r.status_code == 403
    assert "/admin/users" not in analyst.get("/").text


def test_an_admin_adds_and_disables_users(kit: Any, admin: TestClient, seeded: Any) -> None:
    token = kit.csrf_of(admin, "/admin/users")
    r = admin.post(
        "/admin/users",
        data={"name": "bob", "password": kit.PASSWORD, "role": "analyst", "csrf": token},
    )
    assert r.status_code == 303
    assert "bob" in admin.get("/admin/users").text
    r = admin.post("/admin/users", data={"name": "bob2", "password": "short", "csrf": token})
    assert "error=" in r.headers["location"]
    with kit.make_client(seeded) as bob:
        kit.sign_in(bob, "bob")
        engine = make_engine(seeded.url)
        try:
            with session_factory(engine)() as s:
                bob_id = s.scalar(select(User.id).where(User.name == "bob"))
        finally:
            engine.dispose()
        admin.post(f"/admin/users/{bob_id}", data={"action": "disable", "csrf": token})
        assert bob.get("/").status_code == 303  # the disabled user's session ended


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(kit: Any, anonymous: TestClient, target: str) -> None:
    anonymous.get("/login")
    r = anonymous.post(
        "/login",
        data={
            "name": "analyst1",
            "password": kit.PASSWORD,
            "csrf": anonymous.cookies.get("sr_presession"),
            "next": target,
        },
    )
    assert r.headers["location"] == "/"


def test_every_page_carries_a_restrictive_content_security_policy(
    kit: Any, admin: TestClient, seeded: Any
) -> None:
    for path in (
        "/",
        f"/ads/{seeded.hostile}",
        "/brands",
        "/brands/halyk",
        "/trends",
        "/sources",
        "/allowlist",
        "/admin/users",
        "/login",
        "/health",
        f"/evidence/{seeded.evidence_id}",
    ):
        r = admin.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"


def test_a_session_ends_a_week_after_sign_in_however_active(kit: Any, seeded: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from storage.models import utcnow

    with kit.make_client(seeded) as client:
        kit.sign_in(client, "analyst1")
        engine = make_engine(seeded.url)
        try:
            with session_factory(engine).begin() as s:
                s.execute(update(ConsoleSession).values(created_at=utcnow() - timedelta(days=8)))
        finally:
            engine.dispose()
        assert client.get("/").status_code == 303
