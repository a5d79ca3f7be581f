"""Signals computed in code: amounts and their growth, phones, handles, domains in text.

Everything tunable (growth ratio, window) comes from ``signals.yaml`` (``growth:``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# On the normalised (Latin skeleton) text: 50 000 ₸, 50k, 60 min (мың), 1,2 million, $300, 4.8m.
# Numbers are bounded ({1,15}, {1,5} groups): an unbounded \d+ backtracks quadratically on
# long digit runs.
_NUM = r"\d{1,3}(?:[ .,]\d{3}){1,5}(?![\d])|\d{1,15}(?:[.,]\d{1,2})?"
# "min" is Kazakh мың (thousand) in the skeleton, unless minutes: 10 min to Expo, 5 min walk,
# 5 мин пешком, 15 мин от метро. "tis" is тыс / тысяч, not Kazakh тіске (tooth).
# The rule patterns of signals.yaml use the same "min" as the built-in macro {min_thousand}.
_MIN = (
    r"min(?!ut|\.|\s(?:to|from|valk\w*|drive|avai|ago|bi|peshkom|hodb\w*|ezd\w*|na mashin\w*"
    r"|na avto\w*|ot|do|nazad|spustia)(?![a-z]))\w*"
)
_UNIT = rf"k|kk|tis(?:iach\w*|h\w*)?(?![a-z])|tic\w*|{_MIN}|mln\w*|million\w*|milion\w*|mlrd|m"
# Macros that signals.yaml may use in its patterns without defining them.
MACROS = {"min_thousand": _MIN}
_CUR = r"₸|t|tg|kzt|teng\w*|\$|usd\w*|usdt|dollar\w*|rub\w*|eur\w*|€"
MONEY_RE = re.compile(  # noqa: E501
    rf"(?:(?P<cur1>\$|usd|€)\s?(?P<n1>{_NUM})\s?(?P<u1>{_UNIT})?(?![a-z0-9])"
    rf"|(?P<n2>{_NUM})\s?(?:(?P<u2>{_UNIT})(?![a-z0-9])\.?\s?(?P<c2>{_CUR})?|(?P<c3>{_CUR}))(?![a-z0-9]))"
)
_UNIT_VALUE = {"k": 1e3, "kk": 1e6, "t": 1e3, "m": 1e6, "mi": 1e6, "ml": 1e6, "mlrd": 1e9}
PCT_RE = re.compile(
    r"\d{1,6}(?:[.,]\d{1,3})?(?:\s?[-–—]\s?\d{1,6}(?:[.,]\d{1,3})?)?\s?(?:%|procent\w*|paii?z\w*)"
)
PHONE_RE = re.compile(r"(?:\+?7|8)[\s\-(]*7\d{2}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
HANDLE_RE = re.compile(r"@[a-z0-9_.]{3}|t\.me/|wa\.me/|telegram\.me/")
_BOT_RE = re.compile(r"bot(?![a-z0-9])")


def handle(text: str) -> tuple[int, int] | None:
    """A messenger handle, t.me / wa.me link or a …_bot name (normalised text)."""
    if "@" in text or "me/" in text:
        m = HANDLE_RE.search(text)
        if m:
            return m.span()
    if "bot" in text:
        for m in _BOT_RE.finditer(text):
            i = m.start()
            word = text[max(0, i - 30) : i]
            if i >= 3 and all(c.isalnum() or c == "_" for c in text[i - 3 : i]) and "_" in word:
                return i - 3, m.end()
    return None


# Domains in running text are found from their TLD backwards (no scan of every position).
TLD_HINT_RE = re.compile(
    r"\.(?:kz|қаз|com|net|org|info|online|site|top|pro|club|click|app|io|xyz|live|biz|shop|store|link|"
    r"icu|vip|fund|finance|money|invest|me|co|ru|uz|kg|cc|tk|ml|ga|cf|gq|website|space|tech)(?![\w\-])",
    re.IGNORECASE,
)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.") | frozenset(
    chr(c) for c in range(0x0400, 0x0500)
)


# Labels after the one that gave the hint: halykbank.kz.ru, qaitaru-qazyna.kz.ms are not .kz hosts.
_MORE_LABELS_RE = re.compile(r"(?:\.[a-z]{2,10})+(?![\w\-])", re.IGNORECASE)


def domains_in(text: str) -> list[tuple[str, int, int]]:
    """Host names in running text, found from their TLD backwards: (host, start, end)."""
    out = []
    last_end = -1
    for m in TLD_HINT_RE.finditer(text):
        if m.start() < last_end:
            continue  # a label of the host just read
        end = m.end()
        more = _MORE_LABELS_RE.match(text, end)
        if more:
            end = more.end()
        start = m.start()
        while start > 0 and text[start - 1].lower() in _HOST_CHARS:
            start -= 1
        while start < m.start() and text[start] in ".-":
            start += 1
        if start >= m.start() or start < last_end or (start and text[start - 1] == "@"):
            continue
        out.append((text[start:end], start, end))
        last_end = end
    return out


def _number(s: str) -> float:
    s = s.strip()
    if re.fullmatch(r"\d{1,3}(?:[ .,]\d{3})+", s):
        return float(re.sub(r"[ .,]", "", s))
    return float(s.replace(",", "."))


def _unit(u: str | None) -> float:
    if not u:
        return 1.0
    if u in _UNIT_VALUE:
        return _UNIT_VALUE[u]
    if u.startswith(("tis", "tic", "min")):
        return 1e3
    if u.startswith("mlrd"):
        return 1e9
    return 1e6


# Bare grouped numbers (100 000) read as money when they are not part of a phone number.
_GROUPED_RE = re.compile(r"\d{1,3}(?: \d{3}){1,5}(?![\d,]|\.\d)")
_PHONE_TAIL_RE = re.compile(r"[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)")


def amounts(text: str) -> list[tuple[float, int, int]]:
    """Amounts of money in a normalised text: (value, start, end)."""
    out = []
    for m in MONEY_RE.finditer(text):
        i = m.start()
        if i and (text[i - 1].isalnum() or text[i - 1] in ".,"):
            continue  # inside a word or a longer number
        n = m.group("n1") or m.group("n2")
        try:
            value = _number(n) * _unit(m.group("u1") or m.group("u2"))
        except ValueError:
            continue
        out.append((value, m.start(), m.end()))
    if " 000" in text:
        taken = {s for _v, s, _e in out}
        for m in _GROUPED_RE.finditer(text):
            i = m.start()
            if i in taken or (i and (text[i - 1].isalnum() or text[i - 1] in ".,(-")):
                continue
            if _PHONE_TAIL_RE.match(text, m.end()) or text[max(0, i - 3) : i].strip() in (
                "+7",
                "8",
                "7",
            ):
                continue
            out.append((float(m.group().replace(" ", "")), i, m.end()))
        out.sort(key=lambda a: a[1])
    return out


# A line that opens with a point in time (День 8:, Week 2 —, 3-күн:, Friday:): a diary of a balance.
_DATED_LINE_RE = re.compile(
    r"[^a-z0-9\n]{0,4}(?:(?:den|dai|kun|nedel\w*|veek|apta|mesiac|month)\s?\d{1,3}"
    r"|\d{1,3}\s?-?(?:i|shi|th|st|nd|rd)?\s?(?:den|dnia|dai|kun|apta|nedel\w*|veek|mesiac|month|ai)"
    r"|(?:ponedelnik|vtornik|sreda|sredu|chetverg|piatnic\w*|subbot\w*|voskresen\w*|monday|tuesday"
    r"|vednesday|thursday|fridai|saturdai|sundai|duisenbi|seisenbi|sarsenbi|beisenbi|zhuma|senbi|zheksenbi))"
    r"\s?[:—–\-)]"
)


def _other_item(text: str, end: int, start: int) -> bool:
    """Whether the figure at ``start`` is on a later line than the one ending at ``end`` that is
    another item of a list (a price list, a tender digest), not a dated line of a diary."""
    nl = text.rfind("\n", end, start)
    return nl >= 0 and _DATED_LINE_RE.match(text, nl + 1) is None


_PER_UNIT_RE = re.compile(r"\s?/\s?[a-z]")


def _per_unit(text: str, end: int) -> bool:
    """Whether the amount ending at ``end`` is a price per unit (25 000 ₸/ночь, 5 000 ₸/час): a
    tariff, whose next tariffs (140 000 ₸/неделя) are no growth of it."""
    return _PER_UNIT_RE.match(text, end) is not None


def growth(
    found: list[tuple[float, int, int]], params: Mapping[str, float], text: str
) -> tuple[int, int] | None:
    """First pair of amounts of ``text`` where a later one is min_ratio–max_ratio times an
    earlier one, both on one line or the later on a dated line (День 8: …); an earlier one that
    is a price per unit grows into nothing."""
    window = params.get("window", 160)
    lo, hi = params.get("min_ratio", 2.0), params.get("max_ratio", 200.0)
    floor = params.get("min_amount", 10.0)
    for i, (a, s, e) in enumerate(found):
        if a < floor or _per_unit(text, e):
            continue
        for b, s2, e2 in found[i + 1 :]:
            if e2 - s > window:
                break
            if lo <= b / a <= hi and not _other_item(text, e, s2):
                return s, e2
    return None


# Figures without a unit or currency (for growth pairs only): 115, 590, 3 400 is not one.
_BARE_RE = re.compile(
    r"(?<![\d.,:/%+\-#№])\d{2,4}(?![\d%:/a-z]|[.,]\d|\s?(?:%|procent|paiz|chas|sag|hour|min\b|minut))"
)
_RANGE_GAP_RE = re.compile(r"\s*(?:[-–—/]|do|to|dan|ge deiin|deiin|\.\.\.|…)\s*")
_ARROW_GAP_RE = re.compile(r"\s*(?:→|->|=>|⇒|➡️?|>)\s*")
# What the later of two bare figures becomes or brings back (100 салсаң, айдың соңында 250
# болады; кладёшь 50, через неделю 90 получаешь; put 100 in, 180 comes back).
_RESULT_AFTER_RE = re.compile(
    r"\s?(?:(?:ming|min|tis\w*|k)\s)?(?:bolad\w*|boldi|budet|stanet|stalo|vernet\w*|vernu\w*|vozvrash\w*"
    r"|poluch\w*|vishl\w*|vihod\w*|prevrat\w*|sniat\w*|snimaesh\w*|kaitad\w*|kaitip|kaitar\w*|alas\w*"
    r"|shigad\w*|shikti|tused\w*|tusti|becomes|comes back|back\b|returns?\b)"
)
_BARE_GAP = 40  # characters between two bare figures read as a stake and its result


def bare_numbers(text: str, found: list[tuple[float, int, int]]) -> list[tuple[float, int, int]]:
    """Figures of 2–4 digits that are not amounts, times, dates, phones or percentages."""
    taken = [(s, e) for _v, s, e in found]
    out = []
    for m in _BARE_RE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        out.append((float(m.group()), m.start(), m.end()))
    return out


def _unit_of(text: str, start: int) -> float:
    """The unit multiplier (1, 1 000, 10**6) of the amount that starts at ``start``."""
    m = MONEY_RE.match(text, start)
    if m is None:
        return 1.0
    return _unit(m.group("u1") or m.group("u2"))


def growth_pairs(
    text: str,
    found: list[tuple[float, int, int]],
    bare: list[tuple[float, int, int]],
    params: Mapping[str, float],
    min_ratio: float,
) -> list[tuple[int, int]]:
    """Spans of (earlier, later) figure pairs whose ratio is ``min_ratio``–``max_ratio``.

    Two amounts; an amount and a bare figure after it read in the amount's unit (с 60 тысяч
    вышло 210); two bare figures joined by an arrow (500 → 590), or on one line with what the
    later one becomes after it (100 салсаң, айдың соңында 250 болады). Ranges are not growth, nor
    two items of a list, nor a price per unit and the next (see :func:`growth`).
    """
    window = params.get("window", 160)
    hi = params.get("max_ratio", 200.0)
    floor = params.get("min_amount", 10.0)
    out: list[tuple[int, int]] = []
    for i, (a, s, e) in enumerate(found):
        if a < floor or _per_unit(text, e):
            continue
        unit = None
        for b, s2, e2 in found[i + 1 :]:
            if e2 - s > window:
                break
            if (
                min_ratio <= b / a <= hi
                and not _RANGE_GAP_RE.fullmatch(text[e:s2])
                and not _other_item(text, e, s2)
            ):
                out.append((s, e2))
        for b, s2, e2 in bare:
            if s2 < e or e2 - s > window:
                continue
            if unit is None:
                unit = _unit_of(text, s)
            if (
                min_ratio <= b * unit / a <= hi
                and not _RANGE_GAP_RE.fullmatch(text[e:s2])
                and not _other_item(text, e, s2)
            ):
                out.append((s, e2))
    for i, (a, s, e) in enumerate(bare):
        if a < floor or i + 1 >= len(bare):
            continue
        b, s2, e2 = bare[i + 1]
        if not min_ratio <= b / a <= hi:
            continue
        gap = text[e:s2]
        if _ARROW_GAP_RE.fullmatch(gap) or (
            len(gap) <= _BARE_GAP
            and "\n" not in gap
            and not _RANGE_GAP_RE.fullmatch(gap)
            and _RESULT_AFTER_RE.match(text, e2)
        ):
            out.append((s, e2))
    return out
