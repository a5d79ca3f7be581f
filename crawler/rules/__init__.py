"""The detection engine: normalisation, brand lexicon, look-alike domains, rules as data.

>>> from crawler.rules import load_engine
>>> engine = load_engine()
>>> engine.classify({"text": "Kaspi Invest: 5% в день, пишите в директ"}).label
'fake_investment'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.errors import ConfigError

if TYPE_CHECKING:
    from crawler.rules.engine import Engine


def load_engine(data_dir: Path | str | None = None) -> Engine:
    """The engine for the rule data in ``data_dir`` (default: the bundled data), cached.

    Raises :class:`ConfigError` listing every problem (file:line) when the data is not valid.
    """
    return _load(str(Path(data_dir).resolve()) if data_dir else None)


@lru_cache(maxsize=8)
def _load(data_dir: str | None) -> Engine:
    from crawler.rules.engine import Engine
    from crawler.rules.loader import load_ruleset

    ruleset, problems = load_ruleset(Path(data_dir) if data_dir else None)
    if problems or ruleset is None:
        listed = "; ".join(str(p) for p in problems) or "unusable rule data"
        raise ConfigError(f"invalid rule data: {listed}")
    return Engine(ruleset)


__all__ = ["load_engine"]
