"""``scamradar bench …``: benchmarks that print figures (they never pass or fail on time)."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command("storage")
def bench_storage(
    n: int = typer.Option(50_000, "--n", min=1, help="How many sightings to record."),
    batch: int = typer.Option(500, min=1, help="Sightings per transaction."),
    database_url: str = typer.Option(
        None, help="PostgreSQL server to measure (a temporary schema is used); default SQLite."
    ),
) -> None:
    """Record ad sightings in batches (20% seen again, 10% flagged) and export them all."""
    from storage.benchmark import run

    f = run(n, batch, database_url)
    typer.echo(
        f"{f.backend}: {f.sightings} sightings in batches of {f.batch}: {f.seconds:.2f} s, "
        f"{f.per_second:,.0f} sightings/s ({f.new_ads} distinct ads)"
    )
    typer.echo(
        f"{f.backend}: export of {f.export_rows} ads: {f.export_seconds:.2f} s, peak RSS "
        f"{f.rss_before_export_mb:.0f} MB before, {f.rss_after_export_mb:.0f} MB after"
    )
