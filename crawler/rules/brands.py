"""The brand lexicon and the brand/person matcher.

Matching works on the normalised tokens of a field, never by sliding every alias over the text:

1. exact lookup of token n-grams (1–3 words) in a dict of normalised aliases;
2. one precompiled regex for brand stems glued into other words (``halykdohod``, ``vigroupinvest``);
3. fuzzy matching (rapidfuzz ``fuzz.ratio``, explicit scorer/processor/score_cutoff) only for tokens
   of plausible length that were not matched exactly, with a bounded per-process cache of results;
4. Cyrillic words made only of Latin look-alike letters (``ВСС``) are also read as Latin.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rapidfuzz import fuzz, process

from crawler.rules.normalize import Normalized, normalize_term, whole_word_starts

_SPLIT_RE = re.compile(r"[^a-z0-9]+")
_WORD_FIND_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Brand:
    key: str
    name: str
    names: tuple[str, ...]
    weak: tuple[str, ...]
    stems: tuple[str, ...]
    not_brand: frozenset[str]
    common_words: frozenset[str]
    domains: tuple[str, ...]
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    key: str
    role: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class MatchingSettings:
    fuzzy_min_len: int
    fuzzy_max_len: int
    fuzzy_cutoffs: tuple[tuple[int, float], ...]
    domain_max_distance: tuple[tuple[int, int], ...]
    lure_words: tuple[str, ...]
    # A fuzzy match of a token this short must keep the name's first letter: one letter changed
    # in front of a five-letter name is another word (Kazakh салық, балық, айлық are not Halyk).
    fuzzy_same_first_max_len: int = 0

    def fuzzy_cutoff(self, length: int) -> float:
        cutoff = self.fuzzy_cutoffs[0][1]
        for min_len, cut in self.fuzzy_cutoffs:
            if length >= min_len:
                cutoff = cut
        return cutoff

    def domain_distance(self, length: int) -> int:
        for max_len, dist in self.domain_max_distance:
            if length <= max_len:
                return dist
        return self.domain_max_distance[-1][1]


class NameHit(NamedTuple):
    """A brand or person found: ``kind`` is strong, weak, glued, fuzzy or person.

    ``start``/``end`` are positions in the normalised text (``Normalized.span`` maps them back),
    or in the original text when ``mapped`` is true.
    """

    key: str
    kind: str
    start: int
    end: int
    glued_word: tuple[int, int] | None = None  # normalised span of the word a stem was glued into
    mapped: bool = False


def _norm_words(name: str) -> str:
    return " ".join(w for w in _SPLIT_RE.split(normalize_term(name)) if w)


class NameMatcher:
    """Finds brands (and, with ``people``, persons) in normalised fields."""

    def __init__(
        self,
        brands: Sequence[Brand],
        people: Sequence[Person],
        settings: MatchingSettings,
        *,
        cache_size: int = 20_000,
    ):
        self.settings = settings
        self._exact: dict[str, list[tuple[str, str]]] = {}
        # First word of a name -> the word counts of the names it starts, longest first.
        self._lengths: dict[str, tuple[int, ...]] = {}
        self._multi_prefix: dict[str, list[tuple[str, str, str]]] = {}
        self._names_sorted: list[str] = []
        self._not_brand: dict[str, frozenset[str]] = {}
        self._common: dict[str, frozenset[str]] = {}
        fuzzy_choices: dict[str, tuple[str, str]] = {}

        def add(alias: str, key: str, kind: str) -> None:
            norm = _norm_words(alias)
            if not norm:
                return
            bucket = self._exact.setdefault(norm, [])
            if (key, kind) not in bucket:
                bucket.append((key, kind))
            words = norm.split(" ")
            counts = self._lengths.get(words[0], ())
            if len(words) not in counts:
                self._lengths[words[0]] = tuple(sorted((*counts, len(words)), reverse=True))
            if len(words) >= 2 and len(words[-1]) >= 4:
                # The last word of a phrase may carry a case ending (жасыл банктің).
                self._multi_prefix.setdefault(" ".join(words[:-1]), []).append(
                    (words[-1], key, kind)
                )
            glued = norm.replace(" ", "")
            if kind == "strong" and len(glued) >= settings.fuzzy_min_len:
                fuzzy_choices.setdefault(glued, (key, kind))

        for b in brands:
            for n in b.names:
                add(n, b.key, "strong")
            for n in b.weak:
                add(n, b.key, "weak")
            self._not_brand[b.key] = frozenset(
                normalize_term(w).replace(" ", "") for w in b.not_brand
            )
            self._common[b.key] = b.common_words
        for p in people:
            for n in p.names:
                add(n, p.key, "person")
        self._people = {p.key for p in people}
        self._fuzzy_keys = list(fuzzy_choices)
        self._fuzzy_vals = [fuzzy_choices[k] for k in self._fuzzy_keys]
        stems: dict[str, str] = {}
        for b in brands:
            for s in b.stems:
                ns = normalize_term(s).replace(" ", "")
                if len(ns) >= 4:
                    stems[ns] = b.key
        self._stems = stems
        self._glued_names: dict[str, list[str]] = {}
        for b in brands:
            for n in b.names:
                g = _norm_words(n).replace(" ", "")
                if len(g) >= 4:
                    self._glued_names.setdefault(b.key, []).append(g)
        from crawler.rules.lexicon import _trie_regex

        self._stem_re = re.compile(_trie_regex(stems)) if stems else None
        self._cache: dict[str, tuple[str, str] | None] = {}
        self._settled: set[str] = set()  # tokens known to be no (glued / fuzzy) brand
        self._cache_size = cache_size

    # -- public -------------------------------------------------------------------------------
    def find(self, norm: Normalized) -> list[NameHit]:
        text = norm.text
        words = _WORD_FIND_RE.findall(text)
        hits: list[NameHit] = []
        covered: set[int] = set()
        lengths = self._lengths
        exact = self._exact
        n_tok = len(words)
        starts = (
            [i for i, w in enumerate(words) if w in lengths]
            if not lengths.keys().isdisjoint(words)
            else ()
        )
        spans: list[tuple[int, int]] = []

        def span(i: int) -> tuple[int, int]:
            w = words[i]
            if not spans and words.index(w) == i:
                # A word's first occurrence (the usual case): found by a substring search.
                pos = next(whole_word_starts(text, w))
                return pos, pos + len(w)
            if not spans:  # a word seen again: every word's position, listed once
                spans.extend(map(re.Match.span, _WORD_FIND_RE.finditer(text)))
            return spans[i]

        for i in starts:
            tok = words[i]
            for n in lengths[tok]:
                if n > n_tok - i:
                    continue
                key = tok if n == 1 else " ".join(words[i : i + n])
                found = exact.get(key)
                if not found and n >= 2:
                    last = words[i + n - 1]
                    head = key[: len(key) - len(last) - 1]
                    found = [
                        (bkey, kind)
                        for word, bkey, kind in self._multi_prefix.get(head, ())
                        if last.startswith(word) and len(last) - len(word) <= 4
                    ]
                if found:
                    s, e = span(i)
                    if n > 1:
                        e = span(i + n - 1)[1]
                    for bkey, kind in found:
                        self._emit(hits, norm, bkey, kind, s, e, exact=True)
                    covered.update(range(i, i + n))
                    break
        # Other tokens: a brand stem glued into the word (halykdohod), or a fuzzy brand name
        # (Kazpi). The answer per distinct token is memoised; tokens already known to be neither
        # are dropped at C speed with a set difference.
        todo = set(words) - self._settled
        # In order of first appearance: the verdict lists brands in the order they are found.
        if len(todo) > 1:
            todo = [w for w in dict.fromkeys(words) if w in todo]
        for tok in todo:
            res = self._token_brand(tok)
            if res is None:
                self._settle(tok)
                continue
            bkey, kind = res
            for i, w in enumerate(words):
                if w == tok and i not in covered:
                    ts, te = span(i)
                    glued = (ts, te) if kind in ("glued", "inflected") else None
                    self._emit(
                        hits,
                        norm,
                        bkey,
                        "strong" if kind == "inflected" else kind,
                        ts,
                        te,
                        glued_word=glued,
                    )
        for reading, s, e in norm.lookalike_latin:
            found = exact.get(reading)
            if found:
                for bkey, kind in found:
                    if kind == "strong":
                        hits.append(NameHit(bkey, "strong", s, e, None, True))
        return hits

    def is_person(self, key: str) -> bool:
        return key in self._people

    # -- internals ----------------------------------------------------------------------------
    def _emit(
        self,
        hits: list[NameHit],
        norm: Normalized,
        key: str,
        kind: str,
        s: int,
        e: int,
        *,
        exact: bool = False,
        glued_word: tuple[int, int] | None = None,
    ) -> None:
        common = self._common.get(key)
        if common:
            os_, oe = norm.span(s, e)
            if norm.original[os_:oe] in common:
                return
        if not exact and self._is_not_brand(key, norm.text[s:e]):
            return
        hits.append(NameHit(key, kind, s, e, glued_word))

    def _is_not_brand(self, key: str, word: str) -> bool:
        """``word`` is a listed ordinary word, or one of them with a short ending (Каспийского)."""
        return any(
            word.startswith(nb) and len(word) - len(nb) <= 3 for nb in self._not_brand.get(key, ())
        )

    def _settle(self, tok: str) -> None:
        if len(self._settled) >= self._cache_size:
            self._settled.clear()
        self._settled.add(tok)

    def _token_brand(self, tok: str) -> tuple[str, str] | None:
        """(brand, kind) for a token that is not an exact name: glued, inflected or fuzzy."""
        if tok in self._exact or tok.isdigit():
            return None
        if self._stem_re is not None:
            m = self._stem_re.search(tok)
            if m is not None and tok != m.group():
                stem = m.group()
                bkey = self._stems[stem]
                if self._is_not_brand(bkey, tok):
                    return None
                if (tok.startswith(stem) and len(tok) - len(stem) <= 3) or any(
                    tok.startswith(a) and len(tok) - len(a) <= 3
                    for a in self._glued_names.get(bkey, ())
                ):
                    return bkey, "inflected"  # Казатомпрома, Kaspi-дің: the name with an ending
                return bkey, "glued"
        st = self.settings
        if st.fuzzy_min_len <= len(tok) <= st.fuzzy_max_len:
            res = self._fuzzy(tok)
            if res is not None and not self._is_not_brand(res[0], tok):
                return res[0], "fuzzy"
        return None

    def _fuzzy(self, tok: str) -> tuple[str, str] | None:
        cache = self._cache
        if tok in cache:
            return cache[tok]
        if tok.isdigit():
            cache[tok] = None
            return None
        res = process.extractOne(
            tok,
            self._fuzzy_keys,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=self.settings.fuzzy_cutoff(len(tok)),
        )
        val = self._fuzzy_vals[res[2]] if res is not None else None
        if res is not None and abs(len(tok) - len(res[0])) > max(1, len(res[0]) // 5):
            val = None  # a part of a name is not a typo of it ("astana" is not "airastana")
        if (
            res is not None
            and len(tok) <= self.settings.fuzzy_same_first_max_len
            and tok[0] != res[0][0]
        ):
            val = None
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[tok] = val
        return val
