"""Text normalisation for matching, with spans that map back to the original text.

Every field is turned into a lower-case Latin *skeleton* in which the many ways of writing one word
in the Kazakhstan media space meet:

* Unicode NFKC (full-width letters, ligatures, compatibility forms);
* leetspeak inside words (``K4spi``, ``H@lyk``, ``Ka$pi``, ``KASP|``, ``П0лучатель``);
* homoglyph folding of mixed-script words (``Frееdom`` with Cyrillic е, ``VΙ`` with a Greek Iota)
  with the Unicode confusables table shipped by :mod:`confusable_homoglyphs`;
* Cyrillic (Russian and Kazakh) and Greek transliterated to Latin with :mod:`unidecode`, Kazakh
  letters first mapped to the 2021 Kazakh Latin alphabet (``қ→q``, ``ә→ä`` …), then a small
  phonetic fold so that the Kazakh Latin alphabets, informal Latin typing and Cyrillic meet
  (``q→k``, ``x``/``kh``→``h``, ``ц``/``ts``→``c``, ``j→zh``, ``ы``/``й``/``y``→``i``, diacritics
  dropped);
* leetspeak between letters (``K4$pi``, ``H@lyk``, ``KASP|``) and OCR zeros (``5ОООО``);
* letters split by spaces, dots, underscores or hyphens (``K a s p i``, ``H.a.l.y.k``) joined again.

The skeleton is built with one :meth:`str.translate` table (made once) plus a few cheap passes
that rarely change anything; each pass that changes lengths records an :class:`EditMap`, so a
span in the skeleton maps back to the original text (the translate map is built only on demand).
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from unidecode import unidecode

# The official Kazakh Latin alphabet (2021) for the nine specifically Kazakh letters: unidecode
# has no Kazakh mapping (it turns қ into "k'"), so these few entries are the only hand-typed table.
KAZAKH_LATIN_2021 = {
    "ә": "ä",
    "ғ": "ğ",
    "қ": "q",
    "ң": "ñ",
    "ө": "ö",
    "ұ": "ū",
    "ү": "ü",
    "һ": "h",
    "і": "ı",
}
# Phonetic fold applied to the Latin transliteration of every letter (not to running text): makes
# Cyrillic, the Kazakh Latin alphabets and informal Latin typing meet.
_LETTER_FOLD = (
    ("shch", "sh"),
    ("kh", "h"),
    ("ts", "c"),
    ("iu", "yu"),
    ("ia", "ya"),
    ("'", ""),
    ("q", "k"),
    ("x", "h"),
    ("j", "zh"),
    ("w", "v"),
    ("y", "i"),
)
# Kazakh Latin 2018 (acute accents) and other letters whose unidecode reading is not the sound.
_EXTRA = {"ý": "u", "ı": "i", "ё": "e", "ъ": "", "ь": ""}
# Leetspeak inside words; digits only count between two letters, symbols also at a word edge.
LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "@": "a",
    "$": "s",
    "|": "l",
    "!": "i",
}
_BASIC_LETTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") | set(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯәғқңөұүһіӘҒҚҢӨҰҮҺІ"
)

_LETTER = r"[^\W\d_]"
# A mixed-script word always has two neighbouring letters of different scripts. Written to start
# on the Latin letter of the pair (the other one looked for either side): a pattern that starts
# with a character class is searched with the regex engine's fast scan (3 µs instead of 7).
_MIXED_PAIR_RE = re.compile(r"[a-zA-Z](?:(?<=[\u0370-\u04ff][a-zA-Z])|(?=[\u0370-\u04ff]))")
_MIXED_RE = re.compile(r"[^\W\d_]*(?:[a-zA-Z][\u0370-\u04ff]|[\u0370-\u04ff][a-zA-Z])[^\W\d_]*")
# Letters split by spaces, dots, underscores or hyphens (K a s p i, H.a.l.y.k, Ж А Ң А): a cheap
# test on the skeleton (one letter may read as two: ж→zh, я→ia), then the join on the text itself.
# (The first letter is looked for behind the first separator: each of its readings ends in a
# letter, and a pattern that starts with a character class is searched fast.)
_SPACED_QUICK_RE = re.compile(
    r"[ ._\-](?<=[a-z][ ._\-])(?:[a-z]|zh|sh|ch|ia|iu)[ ._\-]"
    r"(?:[a-z]|zh|sh|ch|ia|iu)(?![a-z0-9])"
)
_SPACED_RE = re.compile(rf"(?<![\w.])(?:{_LETTER}[ ._\-]){{2,}}{_LETTER}(?!\w)")
_SPACED_SEP_RE = re.compile(r"[ ._\-]")


def _script(ch: str) -> str:
    o = ord(ch)
    if ch.isascii():
        return "latin"
    if 0x0400 <= o <= 0x052F:
        return "cyrillic"
    if 0x0370 <= o <= 0x03FF:
        return "greek"
    return "other"


@lru_cache(maxsize=1)
def _confusables() -> dict[str, dict[str, str]]:
    """Single-letter homoglyphs per target script, from the Unicode confusables data."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    to: dict[str, dict[str, str]] = {"latin": {}, "cyrillic": {}}
    for ch, entries in data.items():
        if len(ch) != 1 or not ch.isalpha():
            continue
        src = _script(ch)
        for entry in entries:
            c = entry["c"]
            if len(c) != 1 or not c.isalpha():
                continue
            dst = _script(c)
            if (
                c in _BASIC_LETTERS
                and dst in to
                and dst != src
                and src in ("latin", "cyrillic", "greek")
            ):
                # Prefer the look-alike that is also the letter's reading (Greek Ι -> I, not l).
                if c.lower() == unidecode(ch).lower() or ch not in to[dst]:
                    to[dst][ch] = c
                # Unicode's prototype for I-like letters is "l"; a capital Iota reads as I.
                if c == "l" and unidecode(ch) == "I":
                    to[dst][ch] = "I"
    return to


def _letter_skeleton(ch: str) -> str:
    low = ch.lower()
    if low in _EXTRA:
        return _EXTRA[low]
    low = KAZAKH_LATIN_2021.get(low, low)
    low = _EXTRA.get(low, low)
    latin = unidecode(low).lower()
    if not latin.isalpha():
        return latin.strip() if latin.strip().isalnum() else low
    for a, b in _LETTER_FOLD:
        latin = latin.replace(a, b)
    return latin


@lru_cache(maxsize=1)
def skeleton_table() -> dict[int, str]:
    """The translate table: every Latin/Greek/Cyrillic letter to its lower-case skeleton."""
    table: dict[int, str] = {}
    ranges = [
        (0x41, 0x5A),
        (0x61, 0x7A),
        (0xC0, 0x24F),
        (0x370, 0x3FF),
        (0x400, 0x52F),
        (0x1E00, 0x1EFF),
    ]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if not ch.isalpha():
                continue
            sk = _letter_skeleton(ch)
            if sk != ch:
                table[cp] = sk
    # Typographic variants of separators that NFKC keeps.
    for ch in "\u00a0\u2007\u202f\u2009\u200a":
        table[ord(ch)] = " "
    for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad":
        table[ord(ch)] = ""
    return table


@lru_cache(maxsize=1)
def _non1_re() -> re.Pattern[str]:
    chars = "".join(chr(cp) for cp, v in skeleton_table().items() if len(v) != 1)
    return re.compile("[" + re.escape(chars) + "]")


@dataclass(frozen=True)
class EditMap:
    """Maps positions of an edited string back to the string it was made from."""

    out_starts: tuple[int, ...]
    out_ends: tuple[int, ...]
    in_starts: tuple[int, ...]
    in_ends: tuple[int, ...]

    @classmethod
    def from_edits(cls, edits: list[tuple[int, int, int]]) -> EditMap | None:
        """``edits``: sorted (in_start, in_end, out_len) replacements of a left-to-right pass."""
        if not edits:
            return None
        os_, oe, is_, ie = [], [], [], []
        shift = 0
        for s, e, n in edits:
            os_.append(s + shift)
            oe.append(s + shift + n)
            is_.append(s)
            ie.append(e)
            shift += n - (e - s)
        return cls(tuple(os_), tuple(oe), tuple(is_), tuple(ie))

    def back(self, pos: int, *, end: bool = False) -> int:
        i = bisect.bisect_right(self.out_starts, pos) - 1
        if i < 0:
            return pos
        if pos >= self.out_ends[i]:
            return self.in_ends[i] + (pos - self.out_ends[i])
        # Inside a replacement: a start maps to its start, an end to its end.
        if end and pos > self.out_starts[i]:
            return self.in_ends[i]
        return self.in_starts[i]


class _LazyTranslateMap:
    """The EditMap of the translate step, computed on first use."""

    __slots__ = ("_src", "_map")

    def __init__(self, src: str):
        self._src = src
        self._map: EditMap | None = None

    def back(self, pos: int, *, end: bool = False) -> int:
        if self._map is None:
            table = skeleton_table()
            self._map = EditMap.from_edits(
                [
                    (m.start(), m.end(), len(table[ord(m.group())]))
                    for m in _non1_re().finditer(self._src)
                ]
            ) or EditMap((), (), (), ())
        return self._map.back(pos, end=end)


@dataclass
class Normalized:
    """A field's skeleton and the way back to the original text."""

    original: str
    text: str
    maps: list[EditMap | _LazyTranslateMap] = field(
        default_factory=list
    )  # original -> text, in order
    lookalike_latin: tuple[tuple[str, int, int], ...] = ()
    joined: tuple[str, ...] = ()  # words that were written with their letters apart (skeleton form)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a skeleton span back to the original text."""
        s, e = start, end
        for m in reversed(self.maps):
            s, e = m.back(s), m.back(e, end=True)
        return s, max(s, e)


def whole_word_starts(text: str, word: str) -> Iterator[int]:
    """Where ``word`` stands in a skeleton ``text`` as a whole word (no letter or digit of
    ``[a-z0-9]`` either side), in order."""
    n = len(text)
    pos = text.find(word)
    while pos >= 0:
        end = pos + len(word)
        before = text[pos - 1] if pos else " "
        after = text[end] if end < n else " "
        if not ("a" <= before <= "z" or "0" <= before <= "9") and not (
            "a" <= after <= "z" or "0" <= after <= "9"
        ):
            yield pos
        pos = text.find(word, pos + 1)


@lru_cache(maxsize=1)
def _nfkc_suspect_re() -> re.Pattern[str]:
    """Any character that is not NFKC-stable on its own among Latin, Greek and Cyrillic
    (U+0000-U+052F), or lies outside them: only these are looked at one by one."""
    stable = [c for c in range(0x530) if unicodedata.normalize("NFKC", chr(c)) == chr(c)]
    ranges, start = [], stable[0]
    for prev, cur in zip(stable, stable[1:] + [-1], strict=True):
        if cur != prev + 1:
            ranges.append(f"\\U{start:08x}-\\U{prev:08x}")
            start = cur
    return re.compile(f"[^{''.join(ranges)}]")


@lru_cache(maxsize=4096)
def _nfkc_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


def _nfkc_with_map(text: str) -> tuple[str, EditMap | None]:
    """NFKC of each character (one № becomes "No"), with the map back to ``text``. Only the
    characters outside the stable Latin/Greek/Cyrillic ranges are normalised one by one: a
    no-break space or a № in a long text no longer costs a call per character."""
    if unicodedata.is_normalized("NFKC", text):
        return text, None
    parts: list[str] = []
    edits: list[tuple[int, int, int]] = []
    last = 0
    for m in _nfkc_suspect_re().finditer(text):
        ch = m.group()
        n = _nfkc_char(ch)
        if n != ch:
            i = m.start()
            parts.append(text[last:i])
            parts.append(n)
            last = i + 1
            if len(n) != 1:
                edits.append((i, i + 1, len(n)))
    parts.append(text[last:])
    return "".join(parts), EditMap.from_edits(edits)


def _fold_mixed(word: str) -> str:
    """Fold a mixed-script word to its script (homoglyphs only).

    A letter with no look-alike in the other script (ч, д, з in Cyrillic; s, l, r in Latin) decides
    the script; otherwise the majority does.
    """
    conf = _confusables()
    to_lat, to_cyr = conf["latin"], conf["cyrillic"]
    cyr_only = any(0x0400 <= ord(c) <= 0x052F and c not in to_lat for c in word)
    lat_only = any(c.isascii() and c not in to_cyr for c in word)
    if cyr_only != lat_only:
        target = "cyrillic" if cyr_only else "latin"
    else:
        lat = sum(1 for c in word if c.isascii())
        target = "latin" if lat * 2 >= len(word) else "cyrillic"
    table = conf[target]
    return "".join(table.get(c, c) if _script(c) != target else c for c in word)


def _latin_reading(word: str) -> str | None:
    """``ВСС`` → ``bcc``: the Latin word a Cyrillic/Greek word of look-alike letters imitates."""
    table = _confusables()["latin"]
    out = []
    for c in word:
        if c.isascii():
            out.append(c)
        elif c in table:
            out.append(table[c])
        else:
            return None
    return "".join(out).lower()


_LOOKALIKE_CAPS = "АВЕКМНОРСТХІЅЈΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"
# Latin words made only of letters that have a Cyrillic twin, inside mostly-Cyrillic text
# ("дoxoд" noise turned a whole short word Latin): read as Cyrillic.
_LAT_TWIN_WORD_RE = re.compile(r"(?<!\w)[aceopxyACEOPXYKMTHB]+(?!\w)")
# The same words, only to tell whether there is one: the word's start tested behind its first
# letter, so that the search starts with a character class (fast scan; 1.6 µs instead of 5.4).
_LAT_TWIN_WORD_QUICK_RE = re.compile(r"[aceopxyACEOPXYKMTHB](?<!\w.)[aceopxyACEOPXYKMTHB]*(?!\w)")
# Latin digraphs of informal transliteration folded like the Cyrillic letters they stand for.
_DIGRAPH_RE = re.compile(r"shch|sch|kh|ts")
_DIGRAPHS = {"shch": "sh", "sch": "sh", "kh": "h", "ts": "c"}
_CYR_WORD_RE = re.compile(rf"[{_LOOKALIKE_CAPS}]{{2,8}}(?![^\W\d_])")


def _sub_with_map(regex: re.Pattern[str], repl, text: str) -> tuple[str, EditMap | None]:  # type: ignore[no-untyped-def]
    """``regex.sub(repl, text)`` that also returns the map back (only length changes are edits)."""
    parts: list[str] = []
    edits: list[tuple[int, int, int]] = []
    last = 0
    for mm in regex.finditer(text):
        rep = repl(mm)
        parts.append(text[last : mm.start()])
        parts.append(rep)
        if len(rep) != mm.end() - mm.start():
            edits.append((mm.start(), mm.end(), len(rep)))
        last = mm.end()
    parts.append(text[last:])
    return "".join(parts), EditMap.from_edits(edits)


def _leet_fix(text: str) -> str:
    """Leetspeak read as letters, one character for one: K4$pi, H@lyk, Ha|yk, KASP|, |nvest."""
    chars: list[str] | None = None
    n = len(text)
    for m in _LEET_CAND_RE.finditer(text):
        i, j = m.start(), m.end()
        prev = text[i - 1] if i else ""
        nxt = text[j] if j < n else ""
        before = "a" <= prev <= "z"
        after = "a" <= nxt <= "z"
        g = m.group()
        if before and after:
            rep = "".join("l" if c == "|" else LEET[c] for c in g)
        elif g == "|" and before and i >= 2 and "a" <= text[i - 2] <= "z" and not nxt.isalnum():
            rep = "i"  # KASP|
        elif g == "|" and after and j + 1 < n and "a" <= text[j + 1] <= "z" and not prev.isalnum():
            rep = "i"  # |nvest
        elif g == "0" and after and j + 1 < n and "a" <= text[j + 1] <= "z" and not prev.isalnum():
            rep = "o"  # 0ФИЦИАЛЬНАЯ: a zero that starts a word is an O
        else:
            continue
        if chars is None:
            chars = list(text)
        chars[i:j] = rep
    return text if chars is None else "".join(chars)


_LEET_CAND_RE = re.compile(r"[013457@$|!]{1,3}")
_OCR_ZERO_RE = re.compile(r"\d(?:[o0]{1,8}|(?:[ .,][o0]{3}){1,3})(?![a-z0-9])")
_OCR_ZERO_QUICK_RE = re.compile(r"\do|\d[ .,]ooo")
# Translit digraphs (kh, ts, sch) folded like the Cyrillic letters they stand for.
_SKELETON_FIX_RE = re.compile(r"shch|sch|kh|ts")


def normalize(text: str) -> Normalized:
    """Normalise one field (see the module docstring); spans of the result map back to ``text``."""
    maps: list[EditMap] = []
    src, m = _nfkc_with_map(text)
    if m:
        maps.append(m)
    lookalikes: list[tuple[str, int, int]] = []
    if not src.isascii():
        # Mixed-script words, Latin twins inside Cyrillic text and ВСС-like words: one character
        # for one character, no map needed.
        if _MIXED_PAIR_RE.search(src):
            src = _MIXED_RE.sub(lambda mm: _fold_mixed(mm.group()), src)
        # Mostly Cyrillic (2-byte letters in UTF-8): Latin words made only of twin letters are
        # Cyrillic.
        mostly_cyrillic = len(src.encode("utf-8")) - len(src) > 0.6 * len(src)
        if mostly_cyrillic and _LAT_TWIN_WORD_QUICK_RE.search(src):
            table_c = _confusables()["cyrillic"]
            src = _LAT_TWIN_WORD_RE.sub(
                lambda mm: (
                    mm.group()
                    if len(mm.group()) > 1 and mm.group().isupper()  # BCC, KMG: keep acronyms Latin
                    else "".join(table_c.get(c, c) for c in mm.group())
                ),
                src,
            )
        for mm in _CYR_WORD_RE.finditer(src):
            if mm.start() and src[mm.start() - 1].isalpha():
                continue  # inside a longer word
            reading = _latin_reading(mm.group())
            if reading:
                lookalikes.append((reading, mm.start(), mm.end()))
    table = skeleton_table()
    out = src.translate(table)
    joined: list[str] = []
    if _SPACED_QUICK_RE.search(out) and _SPACED_RE.search(src):

        def join(mm: re.Match[str]) -> str:
            word = _SPACED_SEP_RE.sub("", mm.group())
            joined.append(word.translate(table))
            return word

        src, em = _sub_with_map(_SPACED_RE, join, src)
        if em:
            maps.append(em)
        out = src.translate(table)
    if len(out) != len(src) or _non1_re().search(src):
        # The map of this step is only built if a span is asked for (most ads need none).
        maps.append(_LazyTranslateMap(src))
    out = _leet_fix(out)
    if _OCR_ZERO_QUICK_RE.search(out):
        # OCR / typed "5ОООО", "1o ooo": letter o among digits is a zero (one for one).
        out = _OCR_ZERO_RE.sub(lambda mm: mm.group().replace("o", "0"), out)
    if _SKELETON_FIX_RE.search(out):
        out, em = _sub_with_map(_SKELETON_FIX_RE, lambda mm: _DIGRAPHS[mm.group()], out)
        if em:
            maps.append(em)
    return Normalized(
        original=text, text=out, maps=maps, lookalike_latin=tuple(lookalikes), joined=tuple(joined)
    )


@lru_cache(maxsize=65536)
def normalize_term(term: str) -> str:
    """Normalise a lexicon term or alias exactly like running text (without spans)."""
    return normalize(term).text
