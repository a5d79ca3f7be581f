"""``scamradar bench scheduler``: the scheduler's own memory over many short runs, and what it
costs to start one crawl process.

A real ``scamradar schedule`` process runs several ``feeds`` sources every second against a
feed served on 127.0.0.1, into a scratch SQLite database; its resident memory is sampled from
``/proc`` as the run count grows. Figures only: nothing passes or fails on time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from sqlalchemy import func, select

from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import CrawlRun

FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>bench</title><link>http://127.0.0.1/</link>
<description>bench</description>
<item><title>Halyk Bank: new deposit rates</title><link>http://127.0.0.1/a</link>
<guid>bench-1</guid><description>Rates up to 16% a year; deposits insured by KDIF.</description>
</item></channel></rss>"""


@dataclass(frozen=True)
class Sample:
    runs: int
    rss_mb: float
    seconds: float


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def _feed_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = FEED if self.path.startswith("/feed") else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def crawl_start_overhead(repeats: int = 5) -> tuple[float, float]:
    """Median seconds of (importing the CLI and exiting, one crawl of a one-item feed)."""
    with tempfile.TemporaryDirectory(prefix="scamradar-bench-") as tmp, _feed_server() as base:
        work = Path(tmp)
        env = _env(work)
        _prepare(work, base, sources=1)
        bare, full = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "crawler", "--help"],
                env=env,
                capture_output=True,
                check=True,
            )
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "crawler",
                    "crawl",
                    "bench0",
                    "--config",
                    str(work / "sources.yaml"),
                ],
                env=env,
                capture_output=True,
                check=True,
            )
            full.append(time.perf_counter() - started)
    return sorted(bare)[len(bare) // 2], sorted(full)[len(full) // 2]


def scheduler_memory(runs: int, sources: int, checkpoints: tuple[int, ...]) -> list[Sample]:
    with tempfile.TemporaryDirectory(prefix="scamradar-bench-") as tmp, _feed_server() as base:
        work = Path(tmp)
        db_url = _prepare(work, base, sources=sources)
        env = _env(work)
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "schedule", "--config", str(work / "sources.yaml")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "scheduler.log").open("wb"),
        )
        engine = make_engine(db_url)
        Session = session_factory(engine)
        samples: list[Sample] = []
        started = time.perf_counter()
        try:
            pending = sorted(checkpoints)
            while pending and proc.poll() is None:
                with Session() as session:
                    done = (
                        session.scalar(
                            select(func.count())
                            .select_from(CrawlRun)
                            .where(CrawlRun.status != "running")
                        )
                        or 0
                    )
                if done >= pending[0]:
                    samples.append(Sample(done, _rss_mb(proc.pid), time.perf_counter() - started))
                    pending.pop(0)
                time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(timeout=120)
            engine.dispose()
        if proc.returncode not in (0, -15):
            raise RuntimeError(f"scheduler exited {proc.returncode}: see {work}/scheduler.log")
    return samples


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCAMRADAR_")}
    env.update(
        DATABASE_URL=f"sqlite:///{work / 'bench.db'}",
        SCAMRADAR_EVIDENCE_DIR=str(work / "evidence"),
        SCAMRADAR_LOG_DIR=str(work / "logs"),
        SCAMRADAR_SHUTDOWN_GRACE="30",
    )
    return env


def _prepare(work: Path, base: str, *, sources: int) -> str:
    db_url = f"sqlite:///{work / 'bench.db'}"
    engine = make_engine(db_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    config = [
        {
            "name": f"bench{i}",
            "spider": "feeds",
            "schedule": "every 1s",
            "timeout": "60s",
            "urls": [f"{base}/feed{i}.xml"],
        }
        for i in range(sources)
    ]
    (work / "sources.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return db_url
