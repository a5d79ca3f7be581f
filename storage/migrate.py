"""Schema management through Alembic: the only way the schema is made or changed."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from crawler.errors import UserError


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("storage") / "migrations"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to ``revision``; returns (revision before, revision after)."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite migrations rebuild tables ("batch" mode); with foreign keys enforced, dropping
            # the old copy of a table would cascade into its children. The pragma only takes
            # effect outside a transaction.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                before = current_revision(conn)
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                after = current_revision(conn)
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    assert after is not None
    return before, after


class SchemaOutOfDate(UserError):
    """The database has not been migrated to the schema this version of scamradar needs."""


def require_current_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        current = current_revision(conn)
    head = head_revision()
    if current != head:
        state = "is empty" if current is None else f"is at schema revision {current}"
        raise SchemaOutOfDate(
            f"the database {engine.url.render_as_string()} {state}; this version needs {head}: "
            "run `scamradar db upgrade`"
        )
