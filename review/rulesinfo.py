"""What the console shows about rules and brands, read from the rule engine's data when it loads
(descriptions, versions, brand names, official domains); the console works without it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleInfo:
    id: str
    version: int
    label: str
    description: str
    status: str


@dataclass(frozen=True)
class BrandInfo:
    key: str
    name: str
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleCatalog:
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    brands: dict[str, BrandInfo] = field(default_factory=dict)
    version: str | None = None

    def brand_name(self, key: str) -> str:
        info = self.brands.get(key)
        return info.name if info else key

    def is_official(self, brand: str, domain: str | None) -> bool:
        info = self.brands.get(brand)
        if not info or not domain:
            return False
        return any(domain == d or domain.endswith("." + d) for d in info.domains)


def load_catalog() -> RuleCatalog:
    """The bundled rule data as a catalog; an empty one (logged) when it cannot be loaded."""
    try:
        from crawler.rules import load_engine

        engine = load_engine()
    except Exception:  # a boundary: the console must run while the rule data is being fixed
        log.warning("rule data not loaded: rules shown without descriptions", exc_info=True)
        return RuleCatalog()
    rs = engine.ruleset
    return RuleCatalog(
        rules={
            r.id: RuleInfo(r.id, r.version, r.label, " ".join(r.description.split()), r.status)
            for r in rs.rules
        },
        brands={b.key: BrandInfo(b.key, b.name, tuple(b.domains)) for b in rs.brands},
        version=rs.version,
    )
