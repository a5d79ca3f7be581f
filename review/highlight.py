"""Marking the words that made the rules fire, safely: the text is escaped piece by piece and
only our own ``<mark>`` tags are added, so scraped markup can never become markup."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape


def spans_for(
    matches: Iterable[Mapping[str, Any]], field: str, length: int
) -> list[tuple[int, int, str]]:
    """The valid (start, end, why) spans of ``field`` in the engine's matches, which give the
    span either as ``start``/``end`` or as ``span: [start, end]``."""
    out: list[tuple[int, int, str]] = []
    for m in matches:
        if not isinstance(m, Mapping) or m.get("field") != field:
            continue
        span = m.get("span")
        start, end = (
            (span[0], span[1])
            if isinstance(span, list | tuple) and len(span) == 2
            else (m.get("start"), m.get("end"))
        )
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        if 0 <= start < end <= length:
            why = " · ".join(str(v) for v in (m.get("rule"), m.get("signal"), m.get("brand")) if v)
            out.append((start, end, why))
    return out


def highlight(text: str | None, spans: Iterable[tuple[int, int, str]]) -> Markup:
    """``text`` escaped, with overlapping spans merged into ``<mark>`` elements."""
    if not text:
        return Markup("")
    merged: list[list[Any]] = []
    for start, end, why in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            if why and why not in merged[-1][2]:
                merged[-1][2].append(why)
        else:
            merged.append([start, end, [why] if why else []])
    parts: list[str] = []
    pos = 0
    for start, end, whys in merged:
        parts.append(str(escape(text[pos:start])))
        title = escape("; ".join(whys))
        parts.append(f'<mark title="{title}">{escape(text[start:end])}</mark>')
        pos = end
    parts.append(str(escape(text[pos:])))
    return Markup("".join(parts))
