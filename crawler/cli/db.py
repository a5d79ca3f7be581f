"""``scamradar db upgrade`` and ``scamradar stats``."""

from __future__ import annotations

import json

import typer

from crawler.cli.common import open_database
from crawler.config import AppSettings
from storage.db import check_connection, make_engine

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Alembic revision to migrate to."),
) -> None:
    """Create or migrate the schema on DATABASE_URL (a no-op when it is up to date)."""
    from storage.migrate import upgrade

    settings = AppSettings.from_env()
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
        before, after = upgrade(engine, revision)
    finally:
        engine.dispose()
    where = engine.url.render_as_string()
    if before == after:
        typer.echo(f"{where}: schema already at {after}, nothing to do")
    else:
        typer.echo(f"{where}: schema migrated {before or 'empty'} -> {after}")


def stats_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Counts: ads, hits by label and brand, verdicts, open source alarms."""
    from storage.queries import stats

    with open_database() as Session, Session() as session:
        figures = stats(session)
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    typer.echo(f"ads stored        {figures['ads']}  ({figures['sightings']} sightings)")
    typer.echo(f"flagged           {figures['flagged']}")
    for label, n in figures["hits_by_label"].items():
        typer.echo(f"  {label:<16}{n}")
    typer.echo("flagged by brand  " + ("" if figures["hits_by_brand"] else "none"))
    for brand, n in figures["hits_by_brand"].items():
        typer.echo(f"  {brand:<16}{n}")
    typer.echo("verdicts          " + ("" if figures["flagged_by_status"] else "none"))
    for status, n in figures["flagged_by_status"].items():
        typer.echo(f"  {status:<16}{n}")
    typer.echo(f"sources           {figures['sources']}")
    alarms = figures["open_alarms"]
    typer.echo(f"open alarms       {len(alarms)}")
    for alarm in alarms:
        typer.echo(f"  {alarm['source']}: {alarm['reason']} (since {alarm['since']})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.command("stats")(stats_command)
