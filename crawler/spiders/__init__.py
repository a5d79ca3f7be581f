"""The spider of each source kind, found by the kind's name.

``SPIDERS`` maps a kind (the ``spider`` key of sources.yaml) to ``"module:Class"``. Modules are
imported only when a source of that kind is crawled, so a kind whose module is missing or broken
never stops the others. Adding a kind: write ``crawler/spiders/<kind>.py`` with a subclass of
:class:`crawler.spiders.base.SourceSpider`, add one line here, declare its parameters in
``crawler.sources.KIND_PARAMS`` (docs/collection.md walks through it).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from crawler.errors import ConfigError

if TYPE_CHECKING:
    from crawler.spiders.base import SourceSpider

SPIDERS: dict[str, str] = {
    "telegram": "crawler.spiders.telegram:TelegramSpider",
    "feeds": "crawler.spiders.feeds:FeedsSpider",
    "landing": "crawler.spiders.landing:LandingSpider",
    "ctlog": "crawler.spiders.ctlog:CtlogSpider",
    "vk": "crawler.spiders.vk:VkSpider",
    "youtube": "crawler.spiders.youtube:YoutubeSpider",
    "meta_ads": "crawler.spiders.meta_ads:MetaAdsSpider",
}


def spider_class(kind: str) -> type[SourceSpider]:
    """The spider class of ``kind``; :class:`ConfigError` when unknown or not importable."""
    try:
        target = SPIDERS[kind]
    except KeyError:
        raise ConfigError(
            f"unknown spider kind {kind!r} (available: {', '.join(sorted(SPIDERS))})"
        ) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(
                f"spider kind {kind!r} is not installed in this version ({module_name} missing)"
            ) from None
        raise
    return getattr(module, class_name)  # type: ignore[no-any-return]
