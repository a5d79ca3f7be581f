"""Programmatic obfuscations of ad text, as the hidden "obfuscated variants" apply them."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

# Cyrillic letter -> Latin look-alike and back (the usual homoglyph swaps).
CYR_TO_LAT = dict(zip("аеорсхуАВЕКМНОРСТХ", "aeopcxyABEKMHOPCTX", strict=True))
LAT_TO_CYR = {v: k for k, v in CYR_TO_LAT.items()}
LEET = {
    "a": "4",
    "e": "3",
    "o": "0",
    "i": "1",
    "s": "$",
    "а": "4",
    "о": "0",
    "е": "3",
    "з": "3",
    "l": "|",
}
# Russian/Kazakh -> Latin as people type it.
TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
        (
            "a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh sch _ y _ e yu ya"
            " a g q n o u u h i"
        ).split(),
        strict=True,
    )
)


def homoglyph(text: str, rng: random.Random, rate: float = 0.35) -> str:
    out = []
    for ch in text:
        if ch in CYR_TO_LAT and rng.random() < rate:
            out.append(CYR_TO_LAT[ch])
        elif ch in LAT_TO_CYR and rng.random() < rate:
            out.append(LAT_TO_CYR[ch])
        else:
            out.append(ch)
    return "".join(out)


def noise(text: str, rng: random.Random) -> str:
    """Mixed-script noise over the whole text: most swappable letters swapped."""
    return homoglyph(text, rng, rate=0.8)


def leet(text: str, rng: random.Random, rate: float = 0.25) -> str:
    def word(m: re.Match[str]) -> str:
        w = m.group()
        chars = list(w)
        for i in range(1, len(chars) - 1):  # inside words, as leet is written
            low = chars[i].lower()
            if low in LEET and rng.random() < rate:
                chars[i] = LEET[low]
        return "".join(chars)

    return re.sub(r"[^\W\d_]{4,}", word, text)


def spacing(text: str, rng: random.Random) -> str:
    """Capitalised words (brand-like) written with letters apart: K a s p i, H.a.l.y.k."""

    def word(m: re.Match[str]) -> str:
        sep = rng.choice([" ", ".", "_", "-"])
        return sep.join(m.group())

    return re.sub(r"\b[A-ZА-ЯӘҒҚҢӨҰҮҺІ][^\W\d_]{2,9}\b", word, text)


def translit(text: str, rng: random.Random) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        if low in TRANSLIT:
            t = TRANSLIT[low].replace("_", "")
            out.append(t.capitalize() if ch != low else t)
        else:
            out.append(ch)
    return "".join(out)


VARIANTS: dict[str, Callable[[str, random.Random], str]] = {
    "homoglyph": homoglyph,
    "noise": noise,
    "leet": leet,
    "spacing": spacing,
    "translit": translit,
}


class Score(NamedTuple):
    """How an engine labels the obfuscated variants of a labelled corpus."""

    scams: int
    kept: int  # scams that keep their own label
    flagged: int  # scams flagged with any scam label
    legit: int
    false_alarms: int  # legit ads flagged


def score(
    engine: Any,
    rows: Iterable[Mapping[str, Any]],
    variant: Callable[[str, random.Random], str],
    rng: random.Random,
) -> Score:
    """Classify every row with ``variant`` applied to its text and title, and count."""
    scams = kept = flagged = legit = false_alarms = 0
    for row in rows:
        ad = dict(row)
        ad["text"] = variant(row["text"], rng)
        if row.get("title"):
            ad["title"] = variant(row["title"], rng)
        label = engine.classify(ad).label
        if row["label"] == "legit":
            legit += 1
            false_alarms += label != "legit"
        else:
            scams += 1
            kept += label == row["label"]
            flagged += label != "legit"
    return Score(scams, kept, flagged, legit, false_alarms)
