"""Small text helpers shared by the API parsers."""

from __future__ import annotations

import re

_URL_RE = re.compile(r"https?://[^\s<>\"'«»()\[\]{}]+", re.IGNORECASE)


def find_urls(*texts: str | None) -> list[str]:
    """The http(s) URLs written in these texts, in order, once each (trailing punctuation cut)."""
    out: list[str] = []
    for text in texts:
        if not text:
            continue
        for match in _URL_RE.findall(text):
            url = match.rstrip(".,;:!?…")
            if url not in out:
                out.append(url)
    return out


def join_text(*parts: str | None) -> str:
    """The non-empty parts, one paragraph each, without repeating a part already included."""
    out: list[str] = []
    for part in parts:
        part = (part or "").strip()
        if part and not any(part in p for p in out):
            out.append(part)
    return "\n\n".join(out)
