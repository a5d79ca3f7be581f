"""Every example of every rule, one test each (todo_* examples are strict xfails)."""

from __future__ import annotations

import pytest

from crawler.rules import load_engine
from crawler.rules.testing import cases, failure

_ENGINE = load_engine()


def _params() -> list:
    out = []
    for case in cases(_ENGINE):
        marks = ()
        if case.kind.startswith("todo_"):
            marks = (
                pytest.mark.xfail(strict=True, reason=f"known miss written down in {case.where}"),
            )
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
def test_rule_example_behaves_as_labelled(case) -> None:
    why = failure(_ENGINE, case)
    assert why is None, f"{case.where}: {why}"


def test_every_rule_has_positive_and_negative_examples() -> None:
    for rule in _ENGINE.rules:
        assert rule.positive and rule.negative, rule.id
