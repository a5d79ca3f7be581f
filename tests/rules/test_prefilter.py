"""The patterns' literal prefilters: every match contains one of the strings (never a miss)."""

from __future__ import annotations

import random
import re

import pytest

from crawler.rules import load_engine
from crawler.rules.prefilter import has_other_digit, required_factors, split_factors

HANDMADE = [
    r"(?<![a-z0-9.,])(?:[2-9]|[1-9]\d) ?h(?![a-z0-9])"
    r"|(?<![a-z0-9])h ?(?:[2-9]|[1-9]\d|100)(?![a-z0-9]|[.,]\d)",
    r"(?:cherez|za|in) \d{1,3} (?:dn|den|nedel)",
    r"\d{1,3}\s?%\s?(?:predoplat\w*|avans)",
    r"(?<![a-z])(?:delu|delo|is|case)\s?(?:no\.?|#|n)\s?\d{3,}",
    r"a(?:b|c)?d",
    r"(?:x|y)*z",
    r"\bkaspi\b",
    r"[^a-z]q",
]


def _holds(pattern: re.Pattern[str], texts: list[str]) -> bool:
    """A match implies that one of the prefilter's strings is in the text."""
    factors = required_factors(pattern)
    if factors is None:
        return True
    plain, other = split_factors(factors)
    return all(
        pattern.search(t) is None or any(f in t for f in plain) or (other and has_other_digit(t))
        for t in texts
    )


def _texts(pattern: re.Pattern[str], rng: random.Random, n: int) -> list[str]:
    """Short random texts made of the pattern's own words and characters, its prefilter's
    strings, digits (ASCII and not), spaces and punctuation: many of them match."""
    factors = sorted(required_factors(pattern) or ())
    pieces = (
        re.findall(r"[a-z]+", pattern.pattern)
        + re.findall(r"\S", pattern.pattern)
        + rng.sample(factors, min(len(factors), 40))
        + list("0123456789 .,%#h")
        + ["٣", "৫", "\u00a0", "\n", " ", " "]
    )
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 10))) for _ in range(n)]


@pytest.mark.parametrize("source", HANDMADE)
def test_a_handmade_pattern_never_matches_without_one_of_its_strings(source: str) -> None:
    pattern = re.compile(source)
    rng = random.Random(7)
    assert _holds(pattern, _texts(pattern, rng, 20_000))


def test_the_multiplier_pattern_gets_digit_h_strings() -> None:
    factors = required_factors(re.compile(HANDMADE[0]))
    assert factors is not None
    plain, other = split_factors(factors)
    assert {"5h", "5 h", "h5", "h 5"} <= plain and other


def test_a_pattern_with_an_optional_only_body_gets_no_prefilter() -> None:
    assert required_factors(re.compile(r"a?b?")) is None
    assert required_factors(re.compile(r"kaspi", re.IGNORECASE)) is None


def test_a_non_ascii_digit_counts_where_the_pattern_has_one() -> None:
    pattern = re.compile(HANDMADE[0])
    assert pattern.search("в 1٣h раз")
    assert _holds(pattern, ["в 1٣h раз"]) and has_other_digit("в 1٣h раз")
    assert not has_other_digit("5h ₸ «x»")


def test_every_rule_pattern_never_matches_without_one_of_its_strings() -> None:
    engine = load_engine()
    rng = random.Random(11)
    for _name, pattern, _gate in engine.patterns:
        assert _holds(pattern, _texts(pattern, rng, 10_000)), pattern.pattern
