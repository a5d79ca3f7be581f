"""Running a rule's own examples (used by ``scamradar rules test`` and by pytest)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from crawler.rules.engine import Engine
from crawler.rules.model import Example, Rule

KINDS = ("positive", "negative", "todo_positive", "todo_negative")


@dataclass(frozen=True)
class ExampleCase:
    rule: Rule
    kind: str
    index: int
    example: Example

    @property
    def id(self) -> str:
        return f"{self.rule.id}:{self.kind}[{self.index}]"

    @property
    def where(self) -> str:
        return f"{self.rule.path}:{self.example.line}"


def cases(engine: Engine) -> Iterator[ExampleCase]:
    for rule in engine.rules:
        for kind in KINDS:
            for i, ex in enumerate(getattr(rule, kind)):
                yield ExampleCase(rule, kind, i, ex)


def failure(engine: Engine, case: ExampleCase) -> str | None:
    """Why the example does not behave as its kind says (``None`` if it does).

    A positive example must fire its rule (and name the brands it lists); a negative one must not
    fire it. ``todo_*`` examples are known misses: they are checked like positive/negative ones
    and are expected to fail.
    """
    verdict = engine.classify(case.example.ad)
    fired = any(r.id == case.rule.id for r in verdict.rules)
    want_fire = case.kind in ("positive", "todo_positive")
    if want_fire and not fired:
        return f"rule did not fire (label {verdict.label}, signals {', '.join(verdict.signals)})"
    if not want_fire and fired:
        return f"rule fired (signals {', '.join(verdict.signals)})"
    missing = set(case.example.ad.get("brands") or ()) - set(verdict.brands)
    if missing:
        return f"brands not found: {sorted(missing)} (found {list(verdict.brands)})"
    return None
