"""Shared fixtures.

Database tests take the ``db_url`` / ``session`` fixtures, which run them on SQLite always and on
PostgreSQL whenever one is reachable (``SCAMRADAR_TEST_POSTGRES_URL``, else the local server at
127.0.0.1:5432, database ``test``). On PostgreSQL each test run works in a schema of its own,
so that parallel runs on one server do not meet; without a server the PostgreSQL variants skip
with the reason. In CI (``CI`` set) an unreachable PostgreSQL is an error, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from httpserver import FixtureServer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.db import DatabaseError, check_connection, make_engine
from storage.scratch import migrate_url, temporary_schema

DEFAULT_POSTGRES_URL = "postgresql+psycopg://127.0.0.1:5432/test"
SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _postgres_base_url() -> str:
    return os.environ.get("SCAMRADAR_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def _postgres_reason() -> str | None:
    """None when PostgreSQL is reachable, else why not."""
    engine = make_engine(_postgres_base_url(), connect_args={"connect_timeout": 3})
    try:
        check_connection(engine)
    except DatabaseError as exc:
        return str(exc)
    finally:
        engine.dispose()
    return None


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, migrated to head; dropped afterwards."""
    reason = _postgres_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must be reachable in CI: {reason}")
        pytest.skip(f"PostgreSQL not reachable, PostgreSQL variant skipped: {reason}")
    with temporary_schema(_postgres_base_url(), prefix="sr_test") as url:
        yield url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with _postgres_schema() as url:
        yield url


@pytest.fixture
def http_server() -> Iterator[FixtureServer]:
    """A local HTTP server answering from a route table (see tests/httpserver.py)."""
    server = FixtureServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrate_url(f"sqlite:///{tmp_path_factory.mktemp('db') / 'scamradar.db'}")


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    """An empty migrated SQLite database of this test's own."""
    return migrate_url(f"sqlite:///{tmp_path / 'scamradar.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty migrated database of each backend, for tests that commit (CLI, crawls)."""
    if request.param == "sqlite":
        yield migrate_url(f"sqlite:///{tmp_path / 'scamradar.db'}")
    else:
        with _postgres_schema() as url:
            yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of each backend (its data is shared by the tests of one run)."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        trans = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield sess
        finally:
            sess.close()
            trans.rollback()
