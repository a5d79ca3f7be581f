"""``scamradar crawl``, ``scamradar evidence verify`` and ``scamradar demo``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from crawler.runner import RunResult

evidence_app = typer.Typer(help="Evidence (WARC) checks.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("crawl")(crawl)
    app.command("demo")(demo)
    app.add_typer(evidence_app, name="evidence")


def crawl(
    source: str = typer.Argument(..., help="The source's name in sources.yaml."),
    config: Path = typer.Option(
        None, "--config", "-c", help="sources.yaml (default: $SCAMRADAR_SOURCES or ./sources.yaml)"
    ),
    set_: list[str] = typer.Option(
        [], "--set", "-s", help="Override a Scrapy setting, KEY=VALUE (repeatable)."
    ),
) -> None:
    """Run one configured source once, now, and record the crawl run.

    Exit status: 0 when the run finished with items; 1 when it ended empty, failed, timed out
    or was interrupted (the run's status and reason are printed and stored)."""
    from crawler.config import AppSettings
    from crawler.runner import parse_overrides, run_source
    from crawler.sources import load_sources

    app = AppSettings.from_env()
    overrides = parse_overrides(set_)
    configured = load_sources(config or app.sources_path).get(source)
    result = run_source(configured, app, overrides)
    typer.echo(summary_line(result))
    if result.status != "finished":
        raise typer.Exit(1)


def summary_line(r: RunResult) -> str:
    line = (
        f"{r.source}: {r.status}"
        + (f" (run {r.run_id})" if r.run_id else "")
        + f": {r.count('storage/items')} items, {r.count('storage/ads_new')} new, "
        f"{r.count('storage/ads_seen_again')} seen again, {r.count('storage/hits')} flagged, "
        f"{r.count('evidence/records')} evidence records, "
        f"{r.count('storage/landing_queued')} landing URLs queued"
    )
    return line + (f"; {r.error}" if r.error else "")


@evidence_app.command("verify")
def evidence_verify(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only problems and the total."),
) -> None:
    """Re-read every WARC record the database points at, re-hash it, report mismatches and
    missing files. Exit status 1 when any record is missing, unreadable or changed."""
    from collections import Counter

    from crawler.cli.common import open_database
    from crawler.config import AppSettings
    from crawler.evidence import verify

    app = AppSettings.from_env()
    kinds: Counter[str] = Counter()
    checked = 0
    with open_database(app) as sessions:
        for _, problem in verify(sessions, app.evidence_dir):
            checked += 1
            if problem is None:
                kinds["ok"] += 1
            else:
                kinds[problem.kind] += 1
                typer.echo(str(problem), err=True)
    bad = checked - kinds["ok"]
    typer.echo(
        f"evidence: {checked} records checked in {app.evidence_dir}: {kinds['ok']} intact, "
        f"{kinds['mismatch']} changed, {kinds['missing_file']} missing files, "
        f"{kinds['unreadable']} unreadable"
    )
    if bad:
        raise typer.Exit(1)


def demo(
    keep_server: bool = typer.Option(
        False, "--keep-server", help="Keep serving the samples after the crawl (Ctrl-C stops)."
    ),
) -> None:
    """Serve the bundled sample sources on 127.0.0.1, crawl each once into the configured
    database (default ./scamradar.db), and print what was flagged."""
    from crawler.demo.run import run_demo

    code = run_demo(keep_server=keep_server, echo=typer.echo)
    if code:
        raise typer.Exit(code)
