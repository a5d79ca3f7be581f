"""Administration: accounts (administrators only) and the allowlist (everyone sees it and can
add to it; only administrators remove entries)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.errors import UserError
from review.accounts import create_user, set_disabled, set_password
from review.web import CurrentUser, current_user, get_db, redirect, render, require_admin
from storage.allowlist import add_entry, list_entries, remove_entry
from storage.models import ALLOWLIST_KINDS, USER_ROLES, User

router = APIRouter()


@router.get("/admin/users")
def users_page(
    request: Request,
    db: Session = Depends(get_db),
    _admin: CurrentUser = Depends(require_admin),
    error: str = "",
) -> Response:
    users = list(db.scalars(select(User).order_by(User.name)))
    return render(
        request, "users.html", {"users": users, "roles": USER_ROLES, "error": error[:300]}
    )


@router.post("/admin/users")
def add_user(
    request: Request,
    _admin: CurrentUser = Depends(require_admin),
    name: str = Form(..., max_length=100),
    role: str = Form("analyst", max_length=20),
    password: str = Form(..., max_length=1000),
) -> Response:
    from urllib.parse import quote

    try:
        with request.app.state.sessions.begin() as db:
            create_user(db, name.strip(), password, role)
    except UserError as exc:
        return redirect(f"/admin/users?error={quote(str(exc))}")
    return redirect("/admin/users")


@router.post("/admin/users/{user_id}")
def change_user(
    user_id: int,
    request: Request,
    admin: CurrentUser = Depends(require_admin),
    action: str = Form(..., max_length=20),
    role: str = Form("", max_length=20),
    password: str = Form("", max_length=1000),
) -> Response:
    from urllib.parse import quote

    try:
        with request.app.state.sessions.begin() as db:
            user = db.get(User, user_id)
            if user is None:
                raise HTTPException(404, "no such user")
            if user.id == admin.id and action in ("disable", "role"):
                raise UserError("you cannot disable yourself or change your own role")
            if action == "disable":
                set_disabled(db, user, True)
            elif action == "enable":
                set_disabled(db, user, False)
            elif action == "role":
                if role not in USER_ROLES:
                    raise UserError(f"unknown role {role!r}")
                user.role = role
            elif action == "password":
                set_password(db, user, password)
            else:
                raise HTTPException(400, f"unknown action {action!r}")
    except UserError as exc:
        return redirect(f"/admin/users?error={quote(str(exc))}")
    return redirect("/admin/users")


@router.get("/allowlist")
def allowlist_page(request: Request, db: Session = Depends(get_db), error: str = "") -> Response:
    return render(
        request,
        "allowlist.html",
        {"entries": list_entries(db), "kinds": ALLOWLIST_KINDS, "error": error[:300]},
    )


@router.post("/allowlist")
def allowlist_add(
    request: Request,
    user: CurrentUser = Depends(current_user),
    kind: str = Form(..., max_length=20),
    value: str = Form(..., max_length=500),
    note: str = Form("", max_length=2000),
) -> Response:
    from urllib.parse import quote

    try:
        with request.app.state.sessions.begin() as db:
            add_entry(db, kind, value, created_by=user.name, note=note.strip() or None)
    except UserError as exc:
        return redirect(f"/allowlist?error={quote(str(exc))}")
    return redirect("/allowlist")


@router.post("/allowlist/{entry_id}/delete")
def allowlist_remove(
    entry_id: int, request: Request, _admin: CurrentUser = Depends(require_admin)
) -> Response:
    with request.app.state.sessions.begin() as db:
        remove_entry(db, entry_id)
    return redirect("/allowlist")
