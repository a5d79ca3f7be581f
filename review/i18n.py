"""Interface languages (Russian by default, Kazakh, English) and Almaty-time formatting.

Message catalogs are gettext ``.po`` files under ``review/locale/<lang>/LC_MESSAGES/``, shipped
with the package and compiled in memory on first use (no build step, nothing stale): msgids are
English, so the English catalog may leave them untranslated.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("ru", "kk", "en")
DEFAULT_LOCALE = "ru"
LOCALE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
DOMAIN = "messages"


@cache
def timezone() -> ZoneInfo:
    return ZoneInfo("Asia/Almaty")


def catalog_path(locale: str):  # type: ignore[no-untyped-def]
    return files("review") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> NullTranslations:
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    with catalog_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def pick_locale(*candidates: str | None) -> str:
    for c in candidates:
        if c in LOCALES:
            return c  # type: ignore[return-value]
    return DEFAULT_LOCALE


def local(dt: datetime) -> datetime:
    return dt.astimezone(timezone())


def format_datetime(dt: datetime | None, *, seconds: bool = False) -> str:
    if dt is None:
        return "—"
    return local(dt).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_date(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = local(value).date()
    return value.isoformat()
