from __future__ import annotations

from importlib.resources import files

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from review.i18n import LOCALES, catalog_path, translations


def _template_msgids() -> set[str]:
    found: set[str] = set()
    for path in (files("review") / "templates").iterdir():
        if path.name.endswith(".html"):
            with path.open("rb") as fh:
                options = {"trim_blocks": "True", "lstrip_blocks": "True"}
                for _line, _fn, msg, _comments in babel_extract(fh, ("_", "gettext"), [], options):
                    found.add(msg)
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_every_interface_string_is_in_the_catalog(locale: str) -> None:
    with catalog_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    msgids = {m.id for m in catalog if m.id}
    missing = _template_msgids() - msgids
    assert not missing, f"add to review/locale/{locale}/LC_MESSAGES/messages.po: {sorted(missing)}"
    if locale != "en":
        untranslated = sorted(m.id for m in catalog if m.id and not m.string)
        assert not untranslated


def test_catalogs_compile_and_translate() -> None:
    assert translations("ru").gettext("Queue") == "Очередь"
    assert translations("kk").gettext("Queue") == "Кезек"
    assert translations("en").gettext("Queue") == "Queue"
    assert translations("xx").gettext("Queue") == "Очередь"  # unknown: the default, Russian
