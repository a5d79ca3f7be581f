"""Console accounts and sign-in sessions.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); a hash
made with older parameters is upgraded at the next sign-in. A session is a random 256-bit token
in an HttpOnly cookie; the database keeps only its SHA-256, so a leaked database does not give
working sessions. Each session has its own CSRF token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crawler.errors import UserError
from storage.models import USER_ROLES, ConsoleSession, User, utcnow

MIN_PASSWORD_LENGTH = 10
SESSION_MAX_DAYS = 7  # however active, a session ends this long after signing in
LOCALES = ("ru", "kk", "en")
_NAME = re.compile(r"^[\w.@-]{2,100}$")
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown: a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(
            f"user name {name!r}: 2-100 letters, digits, '.', '_', '-' or '@', no spaces"
        )
    return name


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise UserError(f"role {role!r} is not one of: {', '.join(USER_ROLES)}")
    return role


def create_user(session: Session, name: str, password: str, role: str = "analyst") -> User:
    check_name(name)
    check_role(role)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserError(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=hash_password(password), locale="ru")
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"no user {name!r}")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    end_sessions(session, user.id)


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    user.disabled = disabled
    if disabled:
        end_sessions(session, user.id)


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user with this name and password, else None (in about the same time)."""
    user = session.scalar(select(User).where(User.name == name))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str


def start_session(session: Session, user: User, *, hours: float) -> NewSession:
    """A new sign-in session for ``user``; expired sessions are cleared on the way."""
    now = utcnow()
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return NewSession(token, csrf)


def resume_session(session: Session, token: str, *, hours: float) -> ConsoleSession | None:
    """The live session for a cookie token (its expiry slides forward), else None."""
    if not token or len(token) > 200:
        return None
    found = session.get(ConsoleSession, _digest(token))
    now = utcnow()
    if found is None or found.expires_at <= now or found.user.disabled:
        return None
    if now - found.created_at > timedelta(days=SESSION_MAX_DAYS):
        return None
    # Slide the expiry at most once a minute, so that reading pages does not write every time.
    if (now - found.last_seen_at).total_seconds() > 60:
        found.last_seen_at = now
        found.expires_at = now + timedelta(hours=hours)
    return found


def end_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.id == _digest(token)))


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))


class LoginThrottle:
    """At most ``limit`` failed sign-ins per name (and per client address) in ``window`` seconds;
    kept in memory (one console process)."""

    def __init__(self, limit: int = 5, window: float = 600.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, []) if now - t < self.window]
        self._failures[key] = kept
        return kept

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)
