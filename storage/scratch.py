"""Throw-away databases for benchmarks and tests: a migrated temporary SQLite file, or a migrated
temporary schema on a PostgreSQL server (so that runs sharing one server never meet)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from storage.db import make_engine, parse_database_url
from storage.migrate import upgrade


def migrate_url(url: str) -> str:
    """Migrate the database at ``url`` to head; returns ``url``."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@contextmanager
def temporary_schema(server_url: str, *, prefix: str = "sr_tmp") -> Iterator[str]:
    """A URL whose ``search_path`` is a new schema on the PostgreSQL server at ``server_url``,
    migrated to head; the schema is dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in server_url else "?"
        try:
            yield migrate_url(f"{server_url}{sep}options=-csearch_path%3D{schema}")
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextmanager
def scratch_database(url: str | None, *, prefix: str = "sr_tmp") -> Iterator[str]:
    """A migrated database nobody else uses: a temporary schema when ``url`` is PostgreSQL,
    else a temporary SQLite file."""
    if url is not None and parse_database_url(url).get_backend_name() == "postgresql":
        with temporary_schema(url, prefix=prefix) as scratch:
            yield scratch
        return
    with tempfile.TemporaryDirectory(prefix="scamradar-") as tmp:
        yield migrate_url(f"sqlite:///{Path(tmp) / 'scratch.db'}")
