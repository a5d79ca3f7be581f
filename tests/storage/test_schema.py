from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_on_an_up_to_date_database_does_nothing(engine: Engine) -> None:
    before, after = upgrade(engine)
    assert before == after == head_revision()


def test_upgrade_creates_every_table_on_an_empty_database(tmp_path) -> None:
    from storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        before, after = upgrade(engine)
        assert before is None and after == head_revision()
        tables = set(inspect(engine).get_table_names())
        for name in (
            "sources",
            "crawl_runs",
            "ads",
            "evidence",
            "hits",
            "reviews",
            "indicators",
            "users",
        ):
            assert name in tables
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    from storage.db import make_engine

    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()
