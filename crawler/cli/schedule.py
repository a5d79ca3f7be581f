"""``scamradar schedule``: the scheduler in the foreground (what ``python scheduler.py`` does)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from crawler.config import AppSettings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # APScheduler logs every job start/finish at INFO; our own lines say the same with more.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def schedule_command(
    config: Path = typer.Option(
        None, "--config", "-c", help="sources.yaml (default: $SCAMRADAR_SOURCES or sources.yaml)."
    ),
) -> None:
    """Run every configured source on its schedule until SIGTERM/SIGINT (SIGHUP reloads)."""
    from crawler.scheduling import serve

    settings = AppSettings.from_env()
    configure_logging(settings.log_level)
    raise typer.Exit(serve(settings, (config or settings.sources_path).resolve()))


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule_command)
