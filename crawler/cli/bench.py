"""``scamradar bench …``: benchmarks that print figures (they never pass or fail on time)."""

from __future__ import annotations

from pathlib import Path

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


@bench_app.command("rules")
def bench_rules(
    n: int = typer.Option(
        100_000, "--n", min=1, help="How many ads to classify (the corpus repeated)."
    ),
    corpus: Path = typer.Option(None, help="JSONL of ads to repeat (default: the dev corpus)."),
    baseline_n: int = typer.Option(
        3_000, min=100, help="Ads (the first of the same input) timed for engine vs naive baseline."
    ),
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Rule data directory (default: bundled)."
    ),
) -> None:
    """Classify throughput (ads/s, one core) and peak memory, against a naive fuzzy baseline."""
    from crawler.rules.benchmark import run

    r = run(n, corpus, baseline_n, data_dir)
    for run_ in (r.full, r.small):
        typer.echo(
            f"classify process (JSONL in/out, 1 core): {run_.ads} ads in {run_.seconds:.2f} s wall"
            f" = {run_.per_second:,.0f} ads/s; {run_.cpu_seconds:.2f} s CPU = "
            f"{run_.per_cpu_second:,.0f} ads per CPU-second; peak RSS {run_.peak_rss_mb:.0f} MB"
        )
    typer.echo(
        f"same {r.sample} ads in-process (CPU time): naive baseline (partial_ratio x {r.aliases} "
        f"aliases) {r.baseline_per_second:,.0f} ads/s; engine brand finding "
        f"{r.brands_per_second:,.0f} ads/s; full classification {r.engine_per_second:,.0f} ads/s"
    )
    typer.echo(
        f"ratio to the baseline (target >= 2.5x): brand finding {r.brands_ratio:.2f}x, full "
        f"classification {r.ratio:.2f}x; classify process {r.full.per_cpu_second:,.0f} ads per "
        f"CPU-second (target 20,000 ads/s)"
    )


@bench_app.command("certstream")
def bench_certstream(
    n: int = typer.Option(100_000, "--n", min=1, help="How many certificate updates to replay."),
    messages: str = typer.Option(
        None, help="Recorded frames (JSON lines); default the bundled certstream fixture."
    ),
    lookalike_share: float = typer.Option(
        0.01, min=0.0, max=1.0, help="Share of updates naming a look-alike."
    ),
) -> None:
    """Replay recorded CertStream frames (scaled up, fresh hosts each) through the filter."""
    from pathlib import Path

    from crawler.apis.certstream import benchmark, synthetic_stream
    from crawler.lookalikes import LookalikeFilter

    path = (
        Path(messages)
        if messages
        else Path(__file__).resolve().parents[1] / "data" / ("certstream_sample.jsonl")
    )
    templates = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    frames = synthetic_stream(templates, n, lookalike_share=lookalike_share)
    lookalikes = LookalikeFilter.default()
    lookalikes.check("warm-up.example")
    seconds, cpu, stats = benchmark(frames, lookalikes)
    typer.echo(
        f"certstream filter: {stats.updates:,} updates, {stats.domains:,} hosts checked "
        f"({stats.skipped_infra:,} service-prefix hosts skipped, {stats.heartbeats} heartbeats), "
        f"{stats.matches:,} look-alikes"
    )
    typer.echo(
        f"certstream filter: one core: {stats.updates / cpu:,.0f} updates/s of CPU time "
        f"({cpu:.2f} s CPU), {stats.updates / seconds:,.0f} updates/s wall-clock "
        f"({seconds:.2f} s); {stats.domains / cpu:,.0f} hosts/s of CPU time"
    )


@bench_app.command("console")
def bench_console(
    ads: int = typer.Option(200_000, "--ads", min=1, help="Distinct ads to seed."),
    hits: int = typer.Option(50_000, "--hits", min=0, help="How many of them are flagged."),
    runs: int = typer.Option(20, "--runs", min=1, help="Requests per page."),
    database_url: str = typer.Option(
        None, help="PostgreSQL server to measure (a temporary schema is used); default SQLite."
    ),
) -> None:
    """Median latency of the review queue's pages on a seeded database (needs the test extra)."""
    import os
    import time

    from review.benchmark import measure, seed_console
    from storage.scratch import scratch_database

    with scratch_database(database_url) as scratch:
        backend = "postgresql" if scratch.startswith("postgres") else "sqlite"
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        typer.echo(f"{backend}: machine: {os.cpu_count()} CPUs, load average {load}")
        t0 = time.perf_counter()
        seed_console(
            scratch, ads=ads, hits=hits, progress=lambda m: typer.echo(f"  seeding: {m}", err=True)
        )
        typer.echo(f"{backend}: seeded {ads} ads, {hits} hits in {time.perf_counter() - t0:.0f} s")
        for f in measure(scratch, runs=runs):
            typer.echo(
                f"{backend}: {f.name:34} median {f.median_ms:7.1f} ms  p90 {f.p90_ms:7.1f} ms  "
                f"cpu {f.cpu_median_ms:6.1f} ms  ({f.rows} rows)  {f.path}"
            )


@bench_app.command("scheduler")
def bench_scheduler(
    runs: int = typer.Option(500, "--runs", min=10, help="Crawl runs to let the scheduler make."),
    sources: int = typer.Option(4, "--sources", min=1, help="Sources running every second."),
) -> None:
    """The scheduler's memory after many short runs, and the cost of starting a crawl process."""
    from crawler.benchscheduler import crawl_start_overhead, scheduler_memory

    cli_s, crawl_s = crawl_start_overhead()
    typer.echo(
        f"starting a crawl process: {cli_s:.2f} s to import the CLI and exit, "
        f"{crawl_s:.2f} s for a whole crawl of a one-item feed (medians of 5)"
    )
    checkpoints = tuple(sorted({10, runs // 10, runs // 4, runs // 2, runs}))
    for s in scheduler_memory(runs, sources, checkpoints):
        typer.echo(f"after {s.runs:>5} runs ({s.seconds:6.0f} s): scheduler RSS {s.rss_mb:6.1f} MB")


@bench_app.command("crawl")
def bench_crawl(
    pages: int = typer.Option(2000, "--pages", min=100, help="Ad pages in the synthetic site."),
    big: int = typer.Option(
        10_000, "--big", min=0, help="Also crawl a site this large, for memory (0: skip)."
    ),
    rounds: int = typer.Option(
        2, "--rounds", min=1, help="Rounds per size, ordered bare, full, full, bare, …"
    ),
) -> None:
    """Crawl a synthetic local site of ad pages bare and with the full pipeline into SQLite,
    in rounds; print pages/s of both (medians), the ratio, and peak RSS (each crawl in its own
    process)."""
    import os

    from crawler.benchcrawl import ad_page, run

    def load() -> str:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())

    typer.echo(
        f"machine: {os.cpu_count()} CPUs, load average {load()}; "
        f"ad pages of about {len(ad_page(1)) / 1024:.1f} KB"
    )
    for size in [pages] + ([big] if big and big != pages else []):
        f = run(size, rounds)
        for r in (f.bare, f.full):
            extra = (
                f", pipeline worker {r['workers_peak_rss_mb']:.0f} MB"
                if r["mode"] == "full" and r["workers_peak_rss_mb"]
                else ""
            )
            typer.echo(
                f"{size:>6} pages  {r['mode']:<4}: {r['items']} items in {r['seconds']:.1f} s = "
                f"{r['per_second']:,.0f} pages/s ({r['per_cpu_second']:,.0f} per CPU-second), "
                f"peak RSS {r['peak_rss_mb']:.0f} MB{extra}"
            )
        full = f.full
        typer.echo(
            f"{size:>6} pages  full: crawl process {full['crawl_cpu_seconds'] * 1000 / size:.2f} "
            f"ms CPU per page (bare {f.bare['crawl_cpu_seconds'] * 1000 / size:.2f}), pipeline "
            f"worker {full['worker_cpu_seconds'] * 1000 / size:.2f} ms CPU per page (and "
            f"{full['worker_startup_cpu_seconds']:.2f} s to start), waited for it "
            f"{full['backpressure_seconds']:.2f} s"
        )
        rounds_text = ", ".join(f"{x:.0%}" for x in f.round_ratios)
        typer.echo(
            f"{size:>6} pages  full/bare: {f.ratio:.0%} of the bare throughput "
            f"({f.cpu_ratio:.0%} per CPU-second; target 85%); medians of {rounds} rounds "
            f"({rounds_text}); load average now {load()}"
        )
