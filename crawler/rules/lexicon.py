"""Concept lexicons: many terms in any script compiled into one scan of the normalised text.

A *term* is written the way it appears in ads (``гарантир*``, ``в месяц``, ``табыс*``, ``passive
income``); it is normalised exactly like running text (see :mod:`crawler.rules.normalize`), so one
term covers Cyrillic, Kazakh letters, Latin typing, homoglyphs and leetspeak. Syntax:

* ``word``   the whole word;
* ``stem*``  any word starting with ``stem``;
* ``two words`` / ``stem* word`` a phrase; words are separated by any non-letters.

A stem that ends in a voiceless п, к or қ also finds its voiced form before a vowel suffix, as
Kazakh spells it (consonant alternation at the suffix boundary): ``салық*`` finds «салығын»,
``жабық топ*`` «жабық тобына», ``жинақ*`` «жинағы» (:func:`alternations`). A stem that ends
in -t also finds its English plural, which the skeleton writes with ``c`` (``specialist*`` finds
"specialists", read "specialisc": :func:`plural_key`).

All terms of all signals become one trie-shaped regular expression, so a field is scanned once,
whatever the size of the lexicon. *Patterns* (numbers with periods, multipliers …) are regular
expressions over the normalised text; ``{name}`` inside a pattern expands to a macro or to the
alternation of a vocabulary list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from crawler.rules.normalize import normalize_term

_SEP = "[^a-z0-9]{1,3}"
_SPLIT_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class TermSpec:
    """One parsed term: its normalised words and whether the last word is a stem."""

    words: tuple[str, ...]
    stem: bool

    @property
    def key(self) -> str:
        return " ".join(self.words)


def parse_term(raw: str) -> TermSpec | None:
    """Parse and normalise a term; ``None`` if nothing matchable is left.

    A ``*`` on an inner word (``искусственн* интеллект*``) is kept on that word: ``stem*``.
    """
    raw = raw.strip()
    stem = raw.endswith("*")
    out: list[str] = []
    parts = raw.rstrip("*").split()
    for i, part in enumerate(parts):
        inner_stem = part.endswith("*") and i < len(parts) - 1
        words = [w for w in _SPLIT_RE.split(normalize_term(part.rstrip("*"))) if w]
        if inner_stem and words:
            words[-1] += "*"
        out.extend(words)
    if not out:
        return None
    return TermSpec(tuple(out), stem)


def _trie_regex(keys: Iterable[str], sep: str = _SEP) -> str:
    """A regex alternation shaped like a trie (``dohod(?:nost)?``), longest path first."""
    trie: dict = {}
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        end = "" in node
        branches = []
        for ch in sorted((c for c in node if c), key=lambda c: (-len(node[c]), c)):
            piece = sep if ch == " " else "[a-z0-9]*" if ch == "*" else re.escape(ch)
            branches.append(piece + emit(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end else body

    return emit(trie)


# Kazakh consonant alternation: a stem-final voiceless consonant is voiced before a vowel suffix
# (кітап → кітабы, тарақ → тарағы, жүрек → жүрегі). In the skeleton қ/к are "k", ғ/г "g".
_VOICED = {"p": "b", "k": "g"}
_VOWELS = "aeiou"  # the skeleton's vowels (ы/і → i, ә → a, ө → o, ұ/ү → u)


def alternations(spec: TermSpec) -> list[str]:
    """Extra keys of a stem term for Kazakh consonant alternation (``salik`` → ``saligi``…)."""
    last = spec.words[-1]
    if not spec.stem or len(last) < 3 or last[-1] not in _VOICED or "*" in spec.key:
        return []
    base = spec.key[:-1] + _VOICED[last[-1]]
    return [base + v for v in _VOWELS]


def plural_key(spec: TermSpec) -> str | None:
    """The whole-word key of an English plural of a stem ending in -t: the skeleton folds ``ts``
    into ``c`` (ц), so "specialists" reads "specialisc" and the stem ``specialist*`` misses it."""
    last = spec.words[-1]
    if not spec.stem or len(last) < 4 or last[-1] != "t" or "*" in spec.key:
        return None
    return spec.key[:-1] + "c"


class TermHit(NamedTuple):
    signal: str
    start: int
    end: int


class TermScanner:
    """Finds every term of every signal in one pass over a normalised text."""

    def __init__(self, terms: Mapping[str, Iterable[TermSpec]]):
        self._index: dict[str, list[tuple[str, bool]]] = {}
        for signal, specs in terms.items():
            for spec in specs:
                keys = [(key, spec.stem) for key in (spec.key, *alternations(spec))]
                plural = plural_key(spec)
                if plural is not None:
                    keys.append((plural, False))
                for key, stem in keys:
                    bucket = self._index.setdefault(key, [])
                    if (signal, stem) not in bucket:
                        bucket.append((signal, stem))
        # Every key (a match always ends on one) -> the keys that are its prefixes, longest first.
        self._prefixes: dict[str, list[tuple[int, list[tuple[str, bool]]]]] = {}
        index = self._index
        for key in index:
            if "*" in key:
                continue
            self._prefixes[key] = [
                (n, index[key[:n]]) for n in range(len(key), 0, -1) if key[:n] in index
            ]
        # Keys with an inner stem (искусственн* интеллект*) are resolved word by word.
        self._inner: list[tuple[tuple[str, ...], list[tuple[str, bool]]]] = [
            (tuple(k.split(" ")), v) for k, v in self._index.items() if "*" in k
        ]
        self._resolved: dict[tuple[str, bool], tuple[tuple[str, int], ...]] = {}
        # Hashtags have no separators: the same keys glued together (#быстрыеденьги).
        self._glued: dict[str, list[tuple[str, bool]]] = {}
        for key, entries in self._index.items():
            if " " in key and "*" not in key:
                self._glued.setdefault(key.replace(" ", ""), []).extend(entries)
        # One trie, two separators: 1-3 non-letters between words in running text, 0-3 in glued
        # words. Keys are skeleton text (no control characters), so NUL can stand for either.
        body = _trie_regex(self._index, sep="\0") if self._index else "(?!)"
        self._re = re.compile(r"(?<![a-z0-9])" + body.replace("\0", _SEP))
        self._infix_re = re.compile(body.replace("\0", "[^a-z0-9]{0,3}"))

    def scan(self, text: str, *, infix: bool = False) -> list[TermHit]:
        """Every term hit in ``text``; with ``infix`` also terms inside words (hashtags)."""
        hits: list[TermHit] = []
        n_text = len(text)
        if infix:
            # Inside glued words every position may start a term: try them all (short texts).
            for pos in range(n_text):
                m = self._infix_re.match(text, pos)
                if m is not None:
                    self._emit(m, text, n_text, hits)
            return hits
        emit = self._emit
        for m in self._re.finditer(text):
            emit(m, text, n_text, hits)
            s = m.group()
            if not s.isalnum():
                # A phrase may hide a shorter term that starts at one of its later words
                # ("успешных возвратов" also holds "возврат*").
                for sm in _WORD_START_RE.finditer(s, 1):
                    m2 = self._re.match(text, m.start() + sm.start())
                    if m2 is not None:
                        emit(m2, text, n_text, hits)
        return hits

    def _inner_lookup(self, squashed: str) -> list[tuple[str, bool]]:
        words = squashed.split(" ")
        out: list[tuple[str, bool]] = []
        for key_words, entries in self._inner:
            if len(key_words) != len(words):
                continue
            if all(
                (w.startswith(k[:-1]) if k.endswith("*") else w == k)
                for k, w in zip(key_words, words, strict=True)
            ):
                out.extend(entries)
        return out

    def _emit(self, m: re.Match[str], text: str, n_text: int, hits: list[TermHit]) -> None:
        s = m.group()
        start, end_m = m.span()
        after_ok = end_m >= n_text or not text[end_m].isalnum()
        key = (s, after_ok)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self._resolve(s, after_ok)
            if len(self._resolved) >= 100_000:
                self._resolved.clear()
            self._resolved[key] = resolved
        for signal, rel_end in resolved:
            hits.append(TermHit(signal, start, start + rel_end))

    def _resolve(self, s: str, after_ok: bool) -> tuple[tuple[str, int], ...]:
        """The (signal, end relative to the match) pairs a matched string stands for (memoised)."""
        squashed = s if s.isalnum() else _SPLIT_RE.sub(" ", s)
        found = self._prefixes.get(squashed)
        if found is None:
            entries = self._glued.get(squashed) or self._inner_lookup(squashed)
            return tuple((signal, len(s)) for signal, _stem in entries or ())
        out = []
        n = len(squashed)
        for length, entries in found:
            whole = (after_ok and length == n) or (length < n and squashed[length] == " ")
            end = len(s) if length == n else _raw_end(s, length)
            for signal, stem in entries:
                if stem or whole:
                    out.append((signal, end))
        return tuple(out)


_WORD_START_RE = re.compile(r"(?<=[^a-z0-9])[a-z0-9]")


def _raw_end(raw: str, squashed_len: int) -> int:
    """Position in ``raw`` after ``squashed_len`` characters of its squashed form."""
    count = 0
    in_sep = False
    for i, ch in enumerate(raw):
        if ch.isalnum():
            if count == squashed_len:
                return i
            count += 1
            in_sep = False
        elif not in_sep:
            if count == squashed_len:
                return i
            count += 1
            in_sep = True
    return len(raw)


_REF_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def term_alternation(specs: Iterable[TermSpec]) -> str:
    """A regex alternation of terms, for use inside patterns."""
    parts = []
    for spec in specs:
        body = _SEP.join(re.escape(w) for w in spec.words)
        parts.append(body + (r"[a-z0-9]*" if spec.stem else r"(?![a-z0-9])"))
    parts.sort(key=len, reverse=True)
    return "(?:" + "|".join(parts) + ")" if parts else "(?!)"


def expand_pattern(pattern: str, refs: Mapping[str, str]) -> str:
    """Replace ``{name}`` references by their regex; unknown names raise KeyError(name)."""

    def sub(m: re.Match[str]) -> str:
        return "(?:" + refs[m.group(1)] + ")"

    for _ in range(5):  # macros may refer to macros
        new = _REF_RE.sub(sub, pattern)
        if new == pattern:
            break
        pattern = new
    return pattern


def pattern_refs(pattern: str) -> list[str]:
    return _REF_RE.findall(pattern)
