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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from crawler.rules.normalize import Normalized, normalize_term

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


@dataclass(frozen=True)
class NameHit:
    """A brand or person found in a field: ``kind`` is strong, weak, glued, fuzzy or person."""

    key: str
    kind: str
    start: int  # in the original field text
    end: int
    text: str
    glued_word: tuple[int, int] | None = (
        None  # skeleton span of the whole word a stem was glued into
    )


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
        cache_size: int = 200_000,
    ):
        self.settings = settings
        self._exact: dict[str, list[tuple[str, str]]] = {}
        self._first: set[str] = set()
        self._multi_prefix: dict[str, list[tuple[str, str, str]]] = {}
        self._names_sorted: list[str] = []
        self._max_words = 1
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
            self._first.add(words[0])
            if len(words) >= 2 and len(words[-1]) >= 4:
                # The last word of a phrase may carry a case ending (жасыл банктің).
                self._multi_prefix.setdefault(" ".join(words[:-1]), []).append(
                    (words[-1], key, kind)
                )
            self._max_words = max(self._max_words, len(words))
            glued = norm.replace(" ", "")
            if kind == "strong" and len(glued) >= settings.fuzzy_min_len:
                fuzzy_choices.setdefault(glued, (key, kind))

        for b in brands:
            for n in b.names:
                add(n, b.key, "strong")
            for n in b.weak:
                add(n, b.key, "weak")
            self._not_brand[b.key] = b.not_brand
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
        self._not_fuzzy: set[str] = set()
        self._cache_size = cache_size

    # -- public -------------------------------------------------------------------------------
    def find(self, norm: Normalized) -> list[NameHit]:
        text = norm.text
        words = _WORD_FIND_RE.findall(text)
        hits: list[NameHit] = []
        covered: set[int] = set()
        first = self._first
        exact = self._exact
        n_tok = len(words)
        tokens: list[tuple[str, int, int]] = []
        starts = [i for i, w in enumerate(words) if w in first] if not first.isdisjoint(words) else ()
        for i in starts:
            tok = words[i]
            if not tokens:
                tokens = norm.tokens()
            s, e = tokens[i][1], tokens[i][2]
            for n in range(min(self._max_words, n_tok - i), 0, -1):
                if n == 1:
                    key = tok
                    end = e
                else:
                    key = " ".join(t[0] for t in tokens[i : i + n])
                    end = tokens[i + n - 1][2]
                found = exact.get(key)
                if not found and n >= 2:
                    last = tokens[i + n - 1][0]
                    head = key[: len(key) - len(last) - 1]
                    found = [
                        (bkey, kind)
                        for word, bkey, kind in self._multi_prefix.get(head, ())
                        if last.startswith(word) and len(last) - len(word) <= 4
                    ]
                if found:
                    for bkey, kind in found:
                        self._emit(hits, norm, bkey, kind, s, end, exact=True)
                    covered.update(range(i, i + n))
                    break
        if self._stem_re is not None:
            for m in self._stem_re.finditer(text):
                ts, te = m.start(), m.end()
                while ts > 0 and text[ts - 1].isalnum():
                    ts -= 1
                while te < len(text) and text[te].isalnum():
                    te += 1
                word = text[ts:te]
                bkey = self._stems[m.group()]
                if word == m.group() or self._is_not_brand(bkey, word):
                    continue
                kind = "glued"
                if (
                    word.startswith(m.group())
                    and len(word) - len(m.group()) <= 3
                    or any(
                        word.startswith(a) and len(word) - len(a) <= 3
                        for a in self._glued_names.get(bkey, ())
                    )
                ):
                    kind = "strong"  # an inflected name (Казатомпрома, Kaspi-дің), not a glued one
                if any(h.key == bkey and h.start <= norm.span(ts, te)[0] < h.end for h in hits):
                    continue
                self._emit(hits, norm, bkey, kind, ts, te, glued_word=(ts, te))
        st = self.settings
        lo, hi = st.fuzzy_min_len, st.fuzzy_max_len
        # Tokens already known not to be a brand are dropped at C speed (a set difference).
        unknown = set(words) - self._not_fuzzy
        for tok in unknown:
            if not (lo <= len(tok) <= hi) or tok in exact:
                self._remember_not_fuzzy(tok)
                continue
            res = self._fuzzy(tok)
            if res is None:
                self._remember_not_fuzzy(tok)
                continue
            if not tokens:
                tokens = norm.tokens()
            for i, w in enumerate(words):
                if w == tok and i not in covered:
                    self._emit(hits, norm, res[0], "fuzzy", tokens[i][1], tokens[i][2])
        for reading, s, e in norm.lookalike_latin:
            found = exact.get(reading)
            if found:
                for bkey, kind in found:
                    if kind == "strong":
                        hits.append(NameHit(bkey, "strong", s, e, norm.original[s:e]))
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
        os_, oe = norm.span(s, e)
        original = norm.original[os_:oe]
        if key in self._common and original in self._common[key]:
            return
        word = norm.text[s:e]
        if not exact and self._is_not_brand(key, word):
            return
        hits.append(NameHit(key, kind, os_, oe, original, glued_word))

    def _is_not_brand(self, key: str, word: str) -> bool:
        """``word`` is a listed ordinary word, or one of them with a short ending (Каспийского)."""
        return any(
            word.startswith(nb) and len(word) - len(nb) <= 3 for nb in self._not_brand.get(key, ())
        )

    def _remember_not_fuzzy(self, tok: str) -> None:
        if len(self._not_fuzzy) >= self._cache_size:
            self._not_fuzzy.clear()
        self._not_fuzzy.add(tok)

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
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[tok] = val
        return val


def brands_from_mapping(data: Mapping[str, Brand]) -> list[Brand]:
    return list(data.values())
