"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from crawler.config import AppSettings
from crawler.errors import UserError
from storage.db import database

_RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@contextmanager
def open_database(settings: AppSettings | None = None) -> Iterator[sessionmaker[Session]]:
    """The configured database, checked to be reachable and migrated to the current schema."""
    from storage.migrate import require_current_schema

    settings = settings or AppSettings.from_env()
    with database(settings.database_url) as factory:
        require_current_schema(factory.kw["bind"])
        yield factory


def parse_when(value: str, *, option: str) -> datetime:
    """An ISO 8601 date or datetime (UTC unless it says otherwise), or a span back from now such
    as ``24h``, ``7d``, ``2w``."""
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), _UNITS[match.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: amount})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"{option} {value!r} is not a date: use ISO 8601 (2026-11-01, 2026-11-01T08:00+05:00) "
            "or a span such as 24h, 7d, 2w"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_choice(value: str | None, choices: tuple[str, ...], *, option: str) -> str | None:
    if value is not None and value not in choices:
        raise UserError(f"{option} {value!r} is not one of: {', '.join(choices)}")
    return value
