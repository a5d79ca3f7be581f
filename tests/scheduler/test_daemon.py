"""The scheduler as it runs in production: a real `scamradar schedule` process starting real
`scamradar crawl` processes against the local fixture server. The tests follow the daemon's log
lines (no sleeping), each wait bounded by a deadline."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from httpserver import FixtureServer
from sqlalchemy import func, select

from storage.db import make_engine, session_factory
from storage.models import Ad, CrawlRun, Source, SourceAlert, apscheduler_jobs

FEED = (Path(__file__).resolve().parents[1] / "fixtures" / "crawl" / "rss_feed.xml").read_bytes()
RSS = "application/rss+xml; charset=utf-8"
WAIT = 90.0


class Daemon:
    """`scamradar schedule` in a subprocess, with its log lines readable as they come."""

    def __init__(self, db_url: str, workdir: Path, sources: list[dict], **env: str) -> None:
        self.config = workdir / "sources.yaml"
        self.config.write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SCAMRADAR_")}
        self.env.update(
            DATABASE_URL=db_url,
            SCAMRADAR_EVIDENCE_DIR=str(workdir / "evidence"),
            SCAMRADAR_LOG_DIR=str(workdir / "logs"),
            SCAMRADAR_SHUTDOWN_GRACE="20",
            **env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self.pump: threading.Thread | None = None

    def start(self) -> Daemon:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "schedule", "--config", str(self.config)],
            env=self.env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.pump = threading.Thread(target=self._pump, args=(self.proc,), daemon=True)
        self.pump.start()
        return self

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.log.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str, count: int = 1, timeout: float = WAIT) -> list[str]:
        """Block until ``count`` new log lines match ``pattern``; fail with the log at timeout."""
        found: list[str] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {count} log line(s) like {pattern!r}:\n" + "".join(self.log[-40:]))
            if re.search(pattern, line):
                found.append(line)
        return found

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        if self.pump is not None:
            self.pump.join(timeout=10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code

    def runs_log(self) -> str:
        return "".join(self.log[-40:])


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            d.stop(signal.SIGKILL)


def _runs(db_url: str, source: str | None = None) -> list[CrawlRun]:
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        stmt = select(CrawlRun).order_by(CrawlRun.id)
        if source:
            stmt = stmt.join(Source).where(Source.name == source)
        runs = list(session.scalars(stmt))
    engine.dispose()
    return runs


def _feed_source(server: FixtureServer, name: str = "news", **kw: object) -> dict:
    return {
        "name": name,
        "spider": "feeds",
        "schedule": "every 2s",
        "timeout": "60s",
        "urls": [server.url(f"/{name}.rss")],
        **kw,
    }


def test_a_source_on_a_short_interval_runs_cycle_after_cycle_without_overlap(
    fresh_db_url: str, tmp_path: Path, http_server: FixtureServer, daemons: list[Daemon]
) -> None:
    http_server.route("/news.rss", body=FEED, content_type=RSS)
    daemon = Daemon(fresh_db_url, tmp_path, [_feed_source(http_server)]).start()
    daemons.append(daemon)
    daemon.wait_for(r"source news: run ended finished", count=4)
    assert daemon.stop() == 0

    runs = _runs(fresh_db_url)
    assert len(runs) >= 4
    assert {r.status for r in runs} == {"finished"}, [(r.status, r.error) for r in runs]
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.finished_at is not None and later.started_at >= earlier.finished_at
    assert runs[0].ads_new == 4 and all(r.ads_seen_again == 4 for r in runs[1:])


def test_after_a_sigkill_the_orphaned_run_is_interrupted_and_scheduling_goes_on(
    tmp_path: Path, fresh_sqlite_url: str, http_server: FixtureServer, daemons: list[Daemon]
) -> None:
    db_url = fresh_sqlite_url
    http_server.route("/news.rss", body=FEED, content_type=RSS, delay=4.0)
    sources = [_feed_source(http_server, schedule="every 3s")]
    first = Daemon(db_url, tmp_path, sources).start()
    daemons.append(first)
    first.wait_for(r"source news: run started")
    _wait_for_running_run(db_url)
    first.stop(signal.SIGKILL)  # the crawl child dies with it (PR_SET_PDEATHSIG)

    second = Daemon(db_url, tmp_path, sources).start()
    daemons.append(second)
    second.wait_for(r"closed 1 orphaned run\(s\) as interrupted")
    second.wait_for(r"source news: run ended finished")
    assert second.stop() == 0

    statuses = [r.status for r in _runs(db_url)]
    assert statuses[0] == "interrupted" and "finished" in statuses[1:]
    assert "running" not in statuses
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        jobs = session.scalar(select(func.count()).select_from(apscheduler_jobs))
        ads = session.scalar(select(func.count()).select_from(Ad))
        distinct = session.scalar(select(func.count(func.distinct(Ad.external_id))))
    engine.dispose()
    assert jobs == 1
    assert ads == distinct == 4


def _wait_for_running_run(db_url: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if any(r.status == "running" for r in _runs(db_url)):
            return
        time.sleep(0.2)
    pytest.fail("the crawl never opened its run")


def test_a_failing_source_raises_its_alarm_and_clears_it_on_recovery_with_webhooks(
    tmp_path: Path, fresh_sqlite_url: str, http_server: FixtureServer, daemons: list[Daemon]
) -> None:
    http_server.route("/hook", body="ok")
    http_server.route("/news.rss", body=FEED, content_type=RSS)
    http_server.route("/news.rss", status=503, body="down for maintenance", times=40)
    daemon = Daemon(
        fresh_sqlite_url,
        tmp_path,
        [_feed_source(http_server)],
        SCAMRADAR_ALERT_AFTER="2",
        SCAMRADAR_ALERT_WEBHOOK=http_server.url("/hook"),
    ).start()
    daemons.append(daemon)
    daemon.wait_for(r"source news: alarm raised")
    engine = make_engine(fresh_sqlite_url)
    with session_factory(engine)() as session:
        [alert] = session.scalars(select(SourceAlert))
        assert alert.closed_at is None
    # the source recovers: the remaining 503 answers are used up
    http_server.routes[-1].times = 0
    daemon.wait_for(r"source news: alarm cleared")
    assert daemon.stop() == 0
    with session_factory(engine)() as session:
        [alert] = session.scalars(select(SourceAlert))
        assert alert.closed_at is not None
    engine.dispose()
    events = [json.loads(r.body)["event"] for r in http_server.hits("/hook")]
    assert events == ["raised", "cleared"]


def test_a_hung_source_is_ended_at_its_timeout_while_others_keep_their_schedule(
    tmp_path: Path, fresh_sqlite_url: str, http_server: FixtureServer, daemons: list[Daemon]
) -> None:
    http_server.route("/hung.rss", hang=True)
    http_server.route("/news.rss", body=FEED, content_type=RSS)
    sources = [
        _feed_source(http_server, "hung", timeout="20s", schedule="every 1h"),
        _feed_source(http_server, "news"),
    ]
    daemon = Daemon(fresh_sqlite_url, tmp_path, sources).start()
    daemons.append(daemon)
    daemon.wait_for(r"source hung: run ended timeout")
    assert daemon.stop() == 0

    [hung] = _runs(fresh_sqlite_url, "hung")
    assert hung.status == "timeout"
    assert hung.finished_at is not None
    assert 19 <= (hung.finished_at - hung.started_at).total_seconds() < 45
    during = [r for r in _runs(fresh_sqlite_url, "news") if r.started_at < hung.finished_at]
    assert len(during) >= 2 and all(r.status == "finished" for r in during)
