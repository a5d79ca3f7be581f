"""Engines and sessions.

``DATABASE_URL`` picks the database: an SQLite file by default, PostgreSQL with
``postgresql+psycopg://`` (plain ``postgresql://`` and ``postgres://`` are taken to mean psycopg 3,
the driver scamradar installs). SQLite runs in WAL mode with a busy timeout so that the
scheduler, the crawls and the console can share one file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import UserError

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536  # per connection


class DatabaseError(UserError):
    """The database URL is malformed, or the database cannot be reached."""


def parse_database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"DATABASE_URL {url!r} is not a database URL "
            "(expected e.g. sqlite:///scamradar.db or postgresql+psycopg://user@host/db)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}: scamradar supports sqlite and "
            "postgresql (postgresql+psycopg://)"
        )
    return parsed


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite's default page cache is 2 MB: past a few tens of thousands of ads, index updates
    # then go to the OS for every page and batch writes slow down as the database grows.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def make_engine(url: str, *, echo: bool = False, **kwargs: object) -> Engine:
    """An engine for ``url``; raises :class:`DatabaseError` for a malformed or unsupported URL."""
    parsed = parse_database_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(
                parsed,
                echo=echo,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                **kwargs,
            )
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            kwargs.setdefault("pool_pre_ping", True)
            connect_args = dict(kwargs.pop("connect_args", {}) or {})  # type: ignore[call-overload]
            connect_args.setdefault("connect_timeout", 10)
            engine = create_engine(parsed, echo=echo, connect_args=connect_args, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseError(f"DATABASE_URL {parsed.render_as_string()!r}: {exc}") from None
    return engine


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseError` with one readable line when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"cannot reach the database {engine.url.render_as_string()}: {reason}"
        ) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def database(url: str) -> Iterator[sessionmaker[Session]]:
    """A checked engine for the duration of a command, disposed of afterwards."""
    engine = make_engine(url)
    try:
        check_connection(engine)
        yield session_factory(engine)
    finally:
        engine.dispose()
