"""The demo: serve the samples, crawl each sample source once, print what was flagged.

Each crawl is a ``scamradar crawl`` subprocess (one crawl per process, as in production), into
the configured database (``DATABASE_URL``, default ``./scamradar.db``, migrated first). The ads'
landing links point at the demo server on 127.0.0.1, a loopback address that scamradar refuses to
fetch from ads by default; the demo's own crawls run with ``SCAMRADAR_ALLOW_PRIVATE_TARGETS=1``
so that the landing spider can capture the sample landing pages. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from crawler.config import AppSettings
from crawler.demo.server import DemoServer

CHANNEL = "qala_zhanalyqtary_demo"
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=WARNING"]


def demo_sources(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "demo_telegram",
            "spider": "telegram",
            "schedule": "every 30m",
            "base_url": base_url,
            "channels": [CHANNEL],
            "max_pages": 3,
        },
        {
            "name": "demo_news",
            "spider": "feeds",
            "schedule": "every 1h",
            "base_url": base_url,
            "urls": [
                "https://qala-aqparat.example/news.rss",
                "https://dala-business.example/feed/atom/",
                "https://news.google.com/rss/search?q=%22Halyk%22+%D0%BC%D0%BE%D1%88%D0%B5"
                "%D0%BD%D0%BD%D0%B8%D0%BA%D0%B8&hl=ru&gl=KZ&ceid=KZ:ru",
            ],
        },
        # after the others: it fetches the landing URLs their ads queued
        {"name": "demo_landing", "spider": "landing", "schedule": "every 15m"},
    ]


def run_demo(*, keep_server: bool = False, echo: Callable[[str], Any] = print) -> int:
    from storage.db import check_connection, make_engine
    from storage.migrate import upgrade

    app = AppSettings.from_env()
    engine = make_engine(app.database_url)
    try:
        check_connection(engine)
        upgrade(engine)
    finally:
        engine.dispose()

    env = dict(os.environ, SCAMRADAR_ALLOW_PRIVATE_TARGETS="1")
    with DemoServer() as server, tempfile.TemporaryDirectory(prefix="scamradar-demo-") as tmp:
        config = Path(tmp) / "sources.yaml"
        sources = demo_sources(server.base_url)
        config.write_text(yaml.safe_dump(sources, allow_unicode=True, sort_keys=False), "utf-8")
        echo(f"scamradar demo: serving the bundled samples at {server.base_url}")
        echo(
            "  (the ads link to landing pages on 127.0.0.1: fetching private addresses found in "
            "ads is off by default; the demo's own crawls allow it)"
        )
        echo(f"  database: {engine.url.render_as_string()}   evidence: {app.evidence_dir}")
        echo("")
        failures = 0
        for source in sources:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "crawler",
                    "crawl",
                    source["name"],
                    "--config",
                    str(config),
                    *FAST,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            lines = done.stdout.strip().splitlines()
            echo("  " + (lines[-1] if lines else f"{source['name']}: no output"))
            if done.returncode not in (0, 1):
                failures += 1
                for line in done.stderr.strip().splitlines()[-5:]:
                    echo(f"    {line}")
        echo("")
        print_flagged(app, [s["name"] for s in sources], echo)
        if keep_server:
            echo(f"\nserving {server.base_url} until Ctrl-C")
            try:
                server.thread.join()
            except KeyboardInterrupt:
                pass
    return 1 if failures else 0


def flagged_rows(sessions: Any, source_names: list[str]) -> list[tuple[str, str, str, str, str]]:
    """(label, brands, rule, source, title) of every flagged ad of these sources."""
    from sqlalchemy import select

    from storage.models import FLAGGED_LABELS, Ad, Source

    rows = []
    with sessions() as session:
        ads = session.scalars(
            select(Ad)
            .join(Source, Ad.source_id == Source.id)
            .where(Source.name.in_(source_names), Ad.label.in_(FLAGGED_LABELS))
            .order_by(Ad.label, Source.name, Ad.id)
        ).all()
        for ad in ads:
            hit = ad.hit
            brands = ", ".join(b.brand for b in hit.brands) if hit else ""
            rule = (hit.matches[0].get("rule") if hit and hit.matches else None) or (
                hit.rules[0].rule_id if hit and hit.rules else ""
            )
            title = ad.title or ad.text.split("\n", 1)[0]
            rows.append((ad.label or "", brands or "-", rule, ad.source.name, _cut(title, 70)))
    return rows


def print_flagged(app: AppSettings, source_names: list[str], echo: Callable[[str], Any]) -> None:
    from crawler.cli.common import open_database
    from storage.queries import stats

    with open_database(app) as sessions:
        rows = flagged_rows(sessions, source_names)
        with sessions() as session:
            totals = stats(session)
    header = ("label", "brand", "rule", "source", "title")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    echo(f"flagged by the demo crawls: {len(rows)}")
    echo(fmt.format(*header))
    echo(fmt.format(*("-" * w for w in widths), "-" * 5))
    for row in rows:
        echo(fmt.format(*row))
    by_label = ", ".join(f"{k} {v}" for k, v in totals["hits_by_label"].items())
    echo("")
    echo(
        f"database totals (as `scamradar stats`): {totals['ads']} ads, {totals['flagged']} "
        f"flagged ({by_label})"
    )


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
