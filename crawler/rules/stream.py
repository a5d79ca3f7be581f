"""Streaming JSONL in, verdicts out: the code path of ``scamradar classify`` (and its benchmark).

Input is read as bytes line by line (memory stays flat however long the file is). A line that is
not valid UTF-8, not valid JSON, or not a JSON object is reported as ``line N: reason`` through
``on_error`` and skipped; blank lines are ignored; every other line gives exactly one output line,
in input order. An ad that is classified but deserves a word (nothing in it to read; a field
longer than the engine reads or that is not a string; an escaped lone surrogate, read as U+FFFD)
is reported through ``on_note`` as ``line N: note``. A byte order mark opening the input is
dropped.

Verdicts are written with :mod:`orjson` (compact JSON, about six times faster than :mod:`json`);
a verdict orjson cannot write as :mod:`json` would (an id that is not a string, a small integer
or null; text with a lone surrogate) is written by :mod:`json`. Input is read with :mod:`json`:
orjson reads integers beyond 64 bits as floats, which would change an ad's id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import orjson

from crawler.rules.engine import FIELDS, MAX_FIELD, Engine


@dataclass
class StreamStats:
    read: int = 0
    written: int = 0
    bad: int = 0


def _describe(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "invalid JSON (nested too deeply)"
    return f"invalid JSON ({exc})"


_BOM = b"\xef\xbb\xbf"
_SURROGATE_RE = re.compile(r"\\ud[89a-f][0-9a-f]{2}")  # in repr(): lone surrogates are escaped
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


def iter_objects(
    fh: IO[bytes],
    on_error: Callable[[int, str], None],
    stats: StreamStats | None = None,
    on_note: Callable[[int, str], None] | None = None,
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """``(line number, object)`` for every valid JSONL line of a binary stream. A UTF-8 byte
    order mark opening the stream is dropped; a lone surrogate escape becomes U+FFFD (told
    through ``on_note``)."""
    stats = stats if stats is not None else StreamStats()
    for lineno, raw in enumerate(fh, 1):
        if lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]  # a file saved by a Windows editor
        if not raw.strip():
            continue
        stats.read += 1
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            stats.bad += 1
            on_error(lineno, _describe(exc))
            continue
        if not isinstance(obj, dict):
            stats.bad += 1
            on_error(lineno, f"not a JSON object (got {type(obj).__name__})")
            continue
        if b"\\u" in raw and _SURROGATE_RE.search(repr(obj)) is not None:
            # json reads "\\ud800" alone as a lone surrogate: no character, and it cannot be
            # written as UTF-8 (the engine and the output would fail on it)
            try:
                obj = _without_surrogates(obj)
            except RecursionError:
                stats.bad += 1
                on_error(lineno, "invalid JSON (nested too deeply)")
                continue
            if on_note is not None:
                on_note(lineno, "an escape \\ud800-\\udfff that is no character: read as U+FFFD")
        yield lineno, obj


_JSON_TYPES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "an object",
}


def notes(ad: Mapping[str, Any]) -> list[str]:
    """What to tell about an ad that is classified all the same."""
    out = []
    values = [(f, ad.get(f)) for f in FIELDS]
    if all(v is None or not str(v).strip() for _f, v in values):
        out.append(f"nothing to classify ({', '.join(FIELDS)} all empty): labelled legit")
    for field, value in values:
        if value is not None and not isinstance(value, str):
            kind = _JSON_TYPES.get(type(value), type(value).__name__)
            out.append(f"{field} is {kind}, not a string: read as its text")
        if isinstance(value, str) and len(value) > MAX_FIELD:
            out.append(
                f"{field} is {len(value):,} characters long: only the first {MAX_FIELD:,} were read"
            )
    return out


_ORJSON_IDS = (str, type(None), bool)


def dumps_verdict(verdict: dict[str, Any]) -> str:
    """One verdict as a JSON line (without the newline), parsed back equal to ``verdict``."""
    vid = verdict["id"]
    if type(vid) in _ORJSON_IDS or (type(vid) is int and -(2**63) <= vid < 2**64):
        try:
            return orjson.dumps(verdict).decode()
        except orjson.JSONEncodeError:  # a lone surrogate in a text: json writes it escaped
            pass
    return json.dumps(verdict, ensure_ascii=False)


def classify_stream(
    engine: Engine,
    fin: IO[bytes],
    fout: IO[str],
    on_error: Callable[[int, str], None],
    on_note: Callable[[int, str], None] | None = None,
) -> StreamStats:
    """Classify every valid line of ``fin`` and write one verdict object per line to ``fout``."""
    stats = StreamStats()
    dumps = dumps_verdict
    write = fout.write
    for lineno, ad in iter_objects(fin, on_error, stats, on_note):
        if on_note is not None:
            for note in notes(ad):
                on_note(lineno, note)
        verdict = engine.classify(ad)
        write(dumps(verdict.to_dict(ad.get("id"))) + "\n")
        stats.written += 1
    return stats
