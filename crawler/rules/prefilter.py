"""Literal prefilters read off a regular expression: strings one of which every match contains.

A rule pattern such as ``(?<![a-z0-9.,])(?:[2-9]|[1-9]\\d) ?h(?![a-z0-9])|…`` (``5x`` / ``x5``
written as a multiplier) has no literal to anchor on, so the regex engine tries it at every
position of every ad. Every one of its matches, though, contains one of ``0h``…``9h``, ``0 h``…
``9 h``, ``h1``…``h9``, ``h 1``…``h 9``: if none of those occurs in the ad (one Aho-Corasick pass
finds them, with the patterns' own gates), the pattern cannot match and is not run. This is the
prefilter idea of RE2 and Hyperscan, kept small: :func:`required_factors` walks the parsed
pattern and answers either a set of non-empty strings that is *sound* (every match of the pattern
contains at least one of them as a substring) or ``None`` when it cannot tell. A prefilter only
skips patterns that cannot match: verdicts are the same with or without it.
:class:`PatternGate` applies the prefilters and the patterns' own gates (literals from the rule
data) with one Aho-Corasick pass over the text.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import product
from operator import itemgetter
from re import _constants as C  # noqa: N812 - the parser's opcodes
from re import _parser as sre_parse

import ahocorasick

_LIMIT = 4096  # strings in a prefilter set at most (an Aho-Corasick automaton takes them all)
_ENUM = 1024  # strings a node may match at most to be enumerated
_Set = frozenset[str]
_EMPTY: _Set = frozenset(("",))


def required_factors(pattern: re.Pattern[str]) -> _Set | None:
    """A set of non-empty strings, one of which every match of ``pattern`` contains, or
    ``None``. Case-insensitive patterns get ``None``. A string holding :data:`OTHER_DIGIT`
    stands for the same string with any non-ASCII decimal digit there."""
    if (
        not isinstance(pattern.pattern, str)
        or pattern.flags & re.IGNORECASE
        or OTHER_DIGIT in pattern.pattern
    ):
        return None
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
        return _Walker().factors_seq(list(parsed))
    except (re.error, RecursionError):  # compiled already; nested deeper than we walk: no set
        return None


# ``\\d`` in a str pattern is any Unicode decimal digit (660 of them): the prefilter counts it
# as the ten ASCII digits and this one stand-in for all the others. A string holding it stands
# for "some string with a non-ASCII digit", which can only occur in a text that has one.
OTHER_DIGIT = "\U0010fffe"  # a Unicode noncharacter; a pattern that holds it gets no prefilter


_NON_ASCII_RUN_RE = re.compile(r"[^\x00-\x7f]+")


def has_other_digit(text: str) -> bool:
    """Whether ``text`` holds a decimal digit other than 0-9 (which ``\\d`` also matches)."""
    return not text.isascii() and any(map(str.isdecimal, "".join(_NON_ASCII_RUN_RE.findall(text))))


def split_factors(factors: frozenset[str]) -> tuple[frozenset[str], bool]:
    """The strings to look for as they are, and whether any stood for a non-ASCII digit."""
    plain = frozenset(f for f in factors if OTHER_DIGIT not in f)
    return plain, len(plain) != len(factors)


def _class_chars(items: list) -> _Set | None:  # type: ignore[type-arg]
    chars: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(chr(av))
        elif op is C.RANGE:
            lo, hi = av
            if hi - lo + 1 > _ENUM:
                return None
            chars.update(chr(c) for c in range(lo, hi + 1))
        elif op is C.CATEGORY and av is C.CATEGORY_DIGIT:
            chars.update("0123456789" + OTHER_DIGIT)
        else:  # NEGATE, other categories (\s, \w): not enumerated
            return None
        if len(chars) > _ENUM:
            return None
    return frozenset(chars)


def _size(sets: list[_Set]) -> int:
    size = 1
    for s in sets:
        size *= len(s)
    return size


def _product(sets: list[_Set]) -> _Set:
    return frozenset("".join(p) for p in product(*sets))


def _union(sets: list[_Set | None], limit: int) -> _Set | None:
    out: set[str] = set()
    for s in sets:
        if s is None:
            return None
        out |= s
        if len(out) > limit:
            return None
    return frozenset(out)


_NOT_A_LEAF = frozenset(("\x00not a leaf",))


def _leaf(op, av) -> _Set | None:  # type: ignore[no-untyped-def]
    """The strings a one-character or zero-width node matches (both analyses agree on these),
    or ``_NOT_A_LEAF``."""
    if op is C.LITERAL:
        return frozenset((chr(av),))
    if op is C.IN:
        return _class_chars(av)
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return _EMPTY
    return _NOT_A_LEAF


class _Walker:
    """One walk over a parsed pattern (answers memoised per node)."""

    def __init__(self) -> None:
        self._exact: dict[int, _Set | None] = {}
        self._edges: dict[tuple[int, bool], _Set | None] = {}

    @staticmethod
    def _body(node) -> list | None:  # type: ignore[no-untyped-def, type-arg]
        op, av = node
        if op is C.SUBPATTERN:
            return None if av[1] & re.IGNORECASE else list(av[3])
        return list(av)  # ATOMIC_GROUP

    def exact_seq(self, nodes: list) -> _Set | None:  # type: ignore[type-arg]
        sets = [self.exact(n) for n in nodes]
        if None in sets or _size(sets) > _ENUM:  # type: ignore[arg-type]
            return None
        return _product(sets)  # type: ignore[arg-type]

    def exact(self, node) -> _Set | None:  # type: ignore[no-untyped-def]
        """Every string the node can match, if few; zero-width nodes match ''."""
        key = id(node)
        if key not in self._exact:
            self._exact[key] = self._exact_of(node)
        return self._exact[key]

    def _exact_of(self, node) -> _Set | None:  # type: ignore[no-untyped-def]
        op, av = node
        chars = _leaf(op, av)
        if chars is not _NOT_A_LEAF:
            return chars
        if op in (C.SUBPATTERN, C.ATOMIC_GROUP):
            body = self._body(node)
            return None if body is None else self.exact_seq(body)
        if op is C.BRANCH:
            return _union([self.exact_seq(list(alt)) for alt in av[1]], _ENUM)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, body = av
            if hi is C.MAXREPEAT or hi > 3:
                return None
            e = self.exact_seq(list(body))
            if e is None or len(e) ** hi > _ENUM:
                return None
            return _union([_product([e] * k) for k in range(lo, hi + 1)], _ENUM)
        return None

    def edge(self, node, last: bool) -> _Set | None:  # type: ignore[no-untyped-def]
        """The characters a match of the node can end with (``last``) or start with, and ''
        if it can match the empty string."""
        key = (id(node), last)
        if key not in self._edges:
            self._edges[key] = self._edge_of(node, last)
        return self._edges[key]

    def _edge_of(self, node, last: bool) -> _Set | None:  # type: ignore[no-untyped-def]
        op, av = node
        chars = _leaf(op, av)
        if chars is not _NOT_A_LEAF:
            return chars
        if op in (C.SUBPATTERN, C.ATOMIC_GROUP):
            body = self._body(node)
            return None if body is None else self.edge_seq(body, last)
        if op is C.BRANCH:
            return _union([self.edge_seq(list(alt), last) for alt in av[1]], sys.maxunicode)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, _hi, body = av
            e = self.edge_seq(list(body), last)
            if e is None:
                return None
            return e | _EMPTY if lo == 0 else e
        return None

    def edge_seq(self, nodes: list, last: bool) -> _Set | None:  # type: ignore[type-arg]
        out: set[str] = set()
        for node in reversed(nodes) if last else nodes:
            e = self.edge(node, last)
            if e is None:
                return None
            out |= e - _EMPTY
            if "" not in e:
                return frozenset(out)
        return frozenset(out) | _EMPTY

    def factors(self, node) -> _Set | None:  # type: ignore[no-untyped-def]
        op, av = node
        if op in (C.SUBPATTERN, C.ATOMIC_GROUP):
            body = self._body(node)
            return None if body is None else self.factors_seq(body)
        if op is C.BRANCH:
            return _union([self.factors_seq(list(alt)) for alt in av[1]], _LIMIT)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, _hi, body = av
            return self.factors_seq(list(body)) if lo >= 1 else None
        e = self.exact(node)
        return e if _usable(e) else None

    def factors_seq(self, nodes: list) -> _Set | None:  # type: ignore[type-arg]
        """Every match of the sequence contains one of the strings: the best of each node's own
        set and of the products of consecutive nodes (zero-width nodes match ''), where a
        window's first node counts by the characters it can end with and its last node by those
        it can start with (a match still contains that shorter product). Only the best product
        is built."""
        best: _Set | None = None
        for node in nodes:
            best = _better(best, self.factors(node))
        exact = [self.exact(n) for n in nodes]
        best_sets: list[_Set] | None = None
        best_key = _key(best)
        n = len(nodes)
        for i in range(n):
            for j in range(i + 2, n + 1):
                middle = exact[i + 1 : j - 1]
                if None in middle:
                    break
                first, end = self.edge(nodes[i], True), self.edge(nodes[j - 1], False)
                for sets in (exact[i:j], [first, *middle, end]):
                    if None in sets or any("" in s for s in (sets[0], sets[-1])):  # type: ignore[operator]
                        continue
                    size = _size(sets)  # type: ignore[arg-type]
                    key = (sum(min(map(len, s)) for s in sets), -size)  # type: ignore[arg-type]
                    if size <= _LIMIT and (best_key is None or key > best_key):
                        best_key, best_sets = key, sets  # type: ignore[assignment]
        return _product(best_sets) if best_sets is not None else best


def _usable(s: _Set | None) -> bool:
    return s is not None and "" not in s and 0 < len(s) <= _LIMIT


def _key(s: _Set | None) -> tuple[int, int] | None:
    return (min(map(len, s)), -len(s)) if _usable(s) else None  # type: ignore[arg-type]


def _better(a: _Set | None, b: _Set | None) -> _Set | None:
    """The more selective of two sound sets: longer shortest string, then fewer strings."""
    ka, kb = _key(a), _key(b)
    if kb is None:
        return a if ka is not None else None
    return a if ka is not None and ka >= kb else b


class Literals:
    """Which of many literal strings occur in a text: one Aho-Corasick pass (pyahocorasick)
    instead of one substring search per string (the patterns' ~70 gates: ~17 -> ~7 µs per ad;
    with the prefilters' strings as well, ~8 µs)."""

    def __init__(self, strings: Iterable[str]):
        strings = set(strings)
        self._always = frozenset(g for g in strings if not g)  # "" is in every text
        self._automaton: ahocorasick.Automaton | None = None
        if strings - self._always:
            self._automaton = ahocorasick.Automaton()
            for g in sorted(strings - self._always):
                self._automaton.add_word(g, g)
            self._automaton.make_automaton()

    def present(self, text: str) -> set[str]:
        found = set(self._always)
        if self._automaton is not None:
            found.update(map(itemgetter(1), self._automaton.iter(text)))
        return found


class PatternGate:
    """The rule patterns that can match a text, in order.

    A pattern with gates (literals from the rule data) runs only if one of them occurs; a
    pattern with a prefilter (:func:`required_factors`) only if one of its strings occurs, or,
    where its strings stood for a non-ASCII digit, if the text has one. Both are tested by one
    :class:`Literals` pass.
    """

    def __init__(self, patterns: Sequence[tuple[str, re.Pattern[str], frozenset[str]]]):
        self._patterns = tuple(patterns)
        self._factors = tuple(
            split_factors(required_factors(p) or frozenset()) for _n, p, _gate in self._patterns
        )
        gates = {g for _n, _p, gate in self._patterns for g in gate}
        self._literals = Literals(gates.union(*(plain for plain, _other in self._factors)))

    def runnable(self, text: str) -> Iterator[tuple[str, re.Pattern[str]]]:
        here = self._literals.present(text)
        other_digit: bool | None = None  # whether the text has a digit other than 0-9
        for (name, pat, gate), (factors, other) in zip(self._patterns, self._factors, strict=True):
            if gate and gate.isdisjoint(here):
                continue
            if factors and factors.isdisjoint(here):
                if not other:
                    continue
                if other_digit is None:
                    other_digit = has_other_digit(text)
                if not other_digit:
                    continue
            yield name, pat
