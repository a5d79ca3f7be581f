"""``scamradar runs``: the crawl-run history."""

from __future__ import annotations

import json

import typer
from sqlalchemy import select

from crawler.cli.common import open_database
from storage.models import CrawlRun, Source

COUNTS = ("items", "ads_new", "ads_seen_again", "hits", "errors")


def runs_command(
    source: str = typer.Option(None, "--source", help="Only this source (its name)."),
    last: int = typer.Option(20, "--last", min=1, help="How many of the latest runs."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of objects."),
) -> None:
    """The crawl-run history, newest first."""
    with open_database() as Session, Session() as session:
        stmt = select(CrawlRun).join(Source, Source.id == CrawlRun.source_id)
        if source:
            stmt = stmt.where(Source.name == source)
        stmt = stmt.order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(last)
        runs = [_as_dict(run) for run in session.scalars(stmt)]
    if as_json:
        typer.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        return
    if not runs:
        typer.echo("no crawl runs" + (f" for source {source!r}" if source else ""))
        return
    header = f"{'id':>5}  {'source':<20} {'spider':<9} {'status':<11} {'started (UTC)':<19} "
    header += f"{'secs':>6} {'items':>6} {'new':>5} {'again':>6} {'hits':>5} {'errs':>5}  error"
    typer.echo(header)
    for r in runs:
        started = r["started_at"][:19].replace("T", " ")
        secs = f"{r['duration_s']:.0f}" if r["duration_s"] is not None else "-"
        typer.echo(
            f"{r['id']:>5}  {r['source'][:20]:<20} {r['spider'][:9]:<9} {r['status']:<11} "
            f"{started:<19} {secs:>6} {r['items']:>6} {r['ads_new']:>5} "
            f"{r['ads_seen_again']:>6} {r['hits']:>5} {r['errors']:>5}  {(r['error'] or '')[:60]}"
        )


def _as_dict(run: CrawlRun) -> dict[str, object]:
    finished = run.finished_at
    return {
        "id": run.id,
        "source": run.source.name,
        "spider": run.spider,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": finished.isoformat() if finished else None,
        "duration_s": (finished - run.started_at).total_seconds() if finished else None,
        **{name: getattr(run, name) for name in COUNTS},
        "error": run.error,
    }


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)
