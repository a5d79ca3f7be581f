"""``scamradar certstream``: the long-running CertStream listener (crawler/certstream.py)."""

from __future__ import annotations

import logging

import typer

from crawler.errors import UserError


def register(app: typer.Typer) -> None:
    app.command("certstream")(certstream)


def certstream(
    url: str = typer.Option(
        None,
        "--url",
        envvar="SCAMRADAR_CERTSTREAM_URL",
        help="CertStream websocket URL (default: the public wss://certstream.calidog.io/).",
    ),
    source: str = typer.Option("certstream", help="Source name the matches and runs go under."),
    interval: str = typer.Option(
        "5m", help="Heartbeat window: one crawl run per window (90s, 5m, 1h)."
    ),
    duration: str = typer.Option(
        None, "--for", help="Stop after this long (default: run until SIGINT/SIGTERM)."
    ),
    backoff_max: str = typer.Option("5m", help="Longest pause between reconnection attempts."),
    check: bool = typer.Option(
        False,
        "--check",
        help="Do not listen: raise the source alarm (exit 1) when the listener has written no "
        "window for SCAMRADAR_ALERT_AFTER intervals (for cron or the scheduler).",
    ),
) -> None:
    """Listen to certificate transparency, store new look-alike domains, queue their pages."""
    from crawler.certstream import DEFAULT_URL, ListenerConfig, run
    from crawler.config import AppSettings
    from crawler.sources import parse_duration

    try:
        interval_s = parse_duration(interval).total_seconds()
        duration_s = parse_duration(duration).total_seconds() if duration else None
        backoff_s = parse_duration(backoff_max).total_seconds()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if check:
        _check(source, interval_s)
        return
    target = url or DEFAULT_URL
    if not target.startswith(("ws://", "wss://")):
        raise UserError(f"--url {target!r}: a CertStream URL starts with ws:// or wss://")
    config = ListenerConfig(
        url=target,
        source=source,
        interval_s=interval_s,
        duration_s=duration_s,
        backoff_max_s=backoff_s,
    )
    app = AppSettings.from_env()
    logging.basicConfig(
        level=app.log_level, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s"
    )
    statuses = run(app, config)
    typer.echo(f"certstream: {len(statuses)} windows: " + ", ".join(statuses))


def _check(source: str, interval_s: float) -> None:
    from crawler.certstream_store import check_heartbeat
    from crawler.cli.common import open_database
    from crawler.config import AppSettings

    app = AppSettings.from_env()
    allowed = interval_s * (app.alert_after_runs + 1)
    with open_database(app) as sessions, sessions.begin() as session:
        reason = check_heartbeat(session, source, max_silence_s=allowed)
    if reason:
        typer.echo(f"{source}: {reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{source}: the CertStream listener is alive")
