"""Frozen, typed objects that rule data loads into, and the verdict the engine returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

LABELS = ("fake_investment", "recovery_scam", "legit")
SCAM_LABELS = ("fake_investment", "recovery_scam")
STATUSES = ("stable", "test", "experimental", "deprecated")


@dataclass(frozen=True)
class Example:
    """A rule example: an ad (a mapping with text and optional title/url/advertiser)."""

    ad: Mapping[str, Any]
    line: int

    @property
    def label(self) -> str:
        text = str(self.ad.get("title") or "") + " " + str(self.ad.get("text") or "")
        return text.strip()[:80]


@dataclass(frozen=True)
class Rule:
    id: str
    version: int
    status: str
    label: str
    description: str
    falsepositives: tuple[str, ...]
    weights: tuple[tuple[str, float], ...]  # signal -> weight (negative = counter-signal)
    require_any: tuple[tuple[str, ...], ...]  # groups: one signal of each group must be present
    require_all: tuple[str, ...]
    brands: tuple[str, ...]  # if set: one of these brands must be named
    threshold: float
    positive: tuple[Example, ...]
    negative: tuple[Example, ...]
    todo_positive: tuple[Example, ...]
    todo_negative: tuple[Example, ...]
    path: str
    line: int


class FiredRule(NamedTuple):
    id: str
    version: int


class Match(NamedTuple):
    """Evidence: which rule, which brand, which field, which span of the original text."""

    rule: str
    brand: str | None
    field: str
    start: int
    end: int
    text: str
    signal: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "brand": self.brand,
            "field": self.field,
            "span": [self.start, self.end],
            "text": self.text,
            "signal": self.signal,
        }


@dataclass(frozen=True)
class Verdict:
    label: str
    score: float
    brands: tuple[str, ...]
    rules: tuple[FiredRule, ...]
    matches: tuple[Match, ...]
    signals: tuple[str, ...] = ()

    def to_dict(self, id: object = None) -> dict[str, Any]:  # noqa: A002 - the contract's name
        return {
            "id": id,
            "label": self.label,
            "score": round(self.score, 4),
            "brands": list(self.brands),
            "rules": [r.id for r in self.rules],
            "rule_versions": {r.id: r.version for r in self.rules},
            "matches": [
                {
                    "rule": rule,
                    "brand": brand,
                    "field": field,
                    "span": [start, end],
                    "text": text,
                    "signal": signal,
                }
                for rule, brand, field, start, end, text, signal in self.matches
            ],  # = [m.to_dict() for m in self.matches], without a call per match
        }
