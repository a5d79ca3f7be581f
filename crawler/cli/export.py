"""``scamradar export``: flagged ads (or all ads) as CSV or JSONL, streamed.

CSV is written as UTF-8 with a byte-order mark, so that Excel and LibreOffice open Cyrillic and
Kazakh text correctly with a double click; list fields (brands, rules) are joined with ``; ``.
Timestamps are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import typer

from crawler.cli.common import check_choice, open_database, parse_when
from storage.models import LABELS, REVIEW_STATUSES
from storage.queries import EXPORT_FIELDS, AdFilter, iter_export_rows

FORMATS = ("csv", "jsonl")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False))
        out.write("\n")
        n += 1
    return n


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(
            {
                k: "; ".join(v) if isinstance(v, list) else ("" if v is None else _plain(v))
                for k, v in row.items()
            }
        )
        n += 1
    return n


@contextmanager
def _output(path: Path | None, fmt: str) -> Iterator[IO[str]]:
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    if path is None or str(path) == "-":
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding=encoding, newline="")
        try:
            yield stream
        finally:
            stream.flush()
            stream.detach()
        return
    with path.open("w", encoding=encoding, newline="") as fh:
        yield fh


def export_command(
    fmt: str = typer.Option(..., "--format", "-f", help="csv or jsonl."),
    since: str = typer.Option(None, help="Ads seen since: ISO date/datetime, or 24h, 7d, 2w."),
    label: str = typer.Option(None, help=f"One of: {', '.join(LABELS)}."),
    brand: str = typer.Option(None, help="Canonical brand key, e.g. halyk."),
    status: str = typer.Option(None, help=f"Latest verdict: {', '.join(REVIEW_STATUSES)}."),
    all_ads: bool = typer.Option(False, "--all", help="Every stored ad, not only flagged ones."),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
) -> None:
    """Flagged ads with their verdict, brands, rules, urls, first/last seen and times seen."""
    check_choice(fmt, FORMATS, option="--format")
    check_choice(label, LABELS, option="--label")
    check_choice(status, REVIEW_STATUSES, option="--status")
    flt = AdFilter(
        flagged_only=not all_ads,
        labels=(label,) if label else (),
        brand=brand.strip().lower() if brand else None,
        statuses=(status,) if status else (),
        since=parse_when(since, option="--since") if since else None,
    )
    write = write_csv if fmt == "csv" else write_jsonl
    with open_database() as Session, Session() as session, _output(output, fmt) as out:
        count = write(iter_export_rows(session, flt), out)
    typer.echo(f"exported {count} ads", err=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
