"""The CertStream listener against a local websocket server replaying recorded frames."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sources.conftest import REPO, fixture
from sqlalchemy import select

from crawler.apis.certstream import UpdateFilter
from crawler.certstream import CertstreamStore, Listener, ListenerConfig
from crawler.config import AppSettings
from crawler.lookalikes import LookalikeFilter
from storage.db import make_engine, session_factory
from storage.models import Ad, CrawlRun, Evidence, LandingTarget, SourceAlert

FRAMES = fixture("certstream_messages.jsonl").decode().splitlines()


@pytest.fixture
def db_url(fresh_sqlite_url: str) -> str:
    return fresh_sqlite_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def replay(ws) -> None:  # type: ignore[no-untyped-def]
    """One connection: send the recorded frames, then hang up (the listener must reconnect)."""
    for frame in FRAMES:
        await ws.send(frame)
    await asyncio.sleep(0.05)


def listen(db_url: str, tmp_path: Path, url: str, *, seconds: float, interval: float) -> list[str]:
    app = AppSettings(database_url=db_url, evidence_dir=tmp_path / "evidence", alert_after_runs=2)
    config = ListenerConfig(
        url=url,
        interval_s=interval,
        duration_s=seconds,
        backoff_base_s=0.05,
        backoff_max_s=0.2,
        open_timeout_s=2,
    )
    store = CertstreamStore(app, config)
    listener = Listener(config, UpdateFilter(LookalikeFilter.default()), store)
    try:
        return asyncio.run(listener.run())
    finally:
        store.close()


def rows(db_url: str, model):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(model)))
    finally:
        engine.dispose()


async def replay_and_hold(ws) -> None:  # type: ignore[no-untyped-def]
    """One connection that stays open after the recorded frames (a quiet, healthy stream)."""
    for frame in FRAMES:
        await ws.send(frame)
    await ws.wait_closed()


@contextlib.contextmanager
def replay_server(port: int, handler=replay) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The websocket server runs in a thread with its own event loop."""
    import threading

    from websockets.asyncio.server import serve

    ready, stop = threading.Event(), threading.Event()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port):
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.02)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def test_listener_stores_a_lookalike_once_queues_its_page_and_reconnects(db_url, tmp_path):
    port = free_port()
    with replay_server(port):
        statuses = listen(db_url, tmp_path, f"ws://127.0.0.1:{port}/", seconds=1.5, interval=0.6)
    assert statuses[0] == "finished" and set(statuses) <= {"finished", "empty"}
    ads = rows(db_url, Ad)
    assert [(a.external_id, a.spider) for a in ads] == [("kaspi-invest-kz.online", "certstream")]
    assert ads[0].extra["lookalike"]["brand"] == "kaspi"
    targets = rows(db_url, LandingTarget)
    assert [(t.url, t.origin) for t in targets] == [
        ("https://kaspi-invest-kz.online/", "certstream")
    ]
    assert len(rows(db_url, Evidence)) == 1
    runs = rows(db_url, CrawlRun)
    assert sum(r.stats["certstream/connects"] for r in runs) >= 2  # it reconnected
    assert sum(r.items for r in runs) == 1


def test_dead_stream_fails_its_windows_and_raises_the_source_alarm(db_url, tmp_path):
    port = free_port()  # nothing listens there
    statuses = listen(db_url, tmp_path, f"ws://127.0.0.1:{port}/", seconds=1.4, interval=0.4)
    assert statuses.count("failed") >= 2
    runs = rows(db_url, CrawlRun)
    assert all(r.status == "failed" for r in runs)
    assert "no connection to the CertStream server" in runs[0].error
    alerts = rows(db_url, SourceAlert)
    assert len(alerts) == 1 and alerts[0].closed_at is None

    with replay_server(port):  # the stream comes back: the alarm clears
        assert "finished" in listen(
            db_url, tmp_path, f"ws://127.0.0.1:{port}/", seconds=1.0, interval=0.5
        )
    assert rows(db_url, SourceAlert)[0].closed_at is not None


def test_certstream_command_listens_for_a_while_and_reports_its_windows(db_url, tmp_path):
    port = free_port()
    env = {
        "DATABASE_URL": db_url,
        "SCAMRADAR_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "PATH": "/usr/bin:/bin",
    }
    with replay_server(port):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "crawler",
                "certstream",
                "--url",
                f"ws://127.0.0.1:{port}/",
                "--for",
                "2s",
                "--interval",
                "1s",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "certstream: " in done.stdout and "finished" in done.stdout
    assert [a.external_id for a in rows(db_url, Ad)] == ["kaspi-invest-kz.online"]


def test_certstream_command_rejects_a_non_websocket_url(db_url):
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "certstream", "--url", "http://example.com/"],
        cwd=REPO,
        env={"DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "ws://" in done.stderr


def test_a_silent_listener_raises_the_alarm_and_a_live_one_does_not(db_url, tmp_path):
    from datetime import UTC, datetime, timedelta

    from crawler.certstream_store import check_heartbeat

    engine = make_engine(db_url)
    sessions = session_factory(engine)
    try:
        with sessions.begin() as session:
            assert "never ran" in check_heartbeat(session, "certstream", max_silence_s=900)
        port = free_port()
        with replay_server(port):
            listen(db_url, tmp_path, f"ws://127.0.0.1:{port}/", seconds=0.5, interval=5)
        with sessions.begin() as session:
            assert check_heartbeat(session, "certstream", max_silence_s=900) is None
        later = datetime.now(UTC) + timedelta(hours=1)
        with sessions.begin() as session:
            reason = check_heartbeat(session, "certstream", max_silence_s=900, now=later)
        assert reason and "silent" in reason
        alerts = rows(db_url, SourceAlert)
        assert len(alerts) == 1 and alerts[0].closed_at is None
    finally:
        engine.dispose()


def test_certstream_check_command_exits_1_when_the_listener_is_silent(db_url):
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "certstream", "--check"],
        cwd=REPO,
        env={"DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "never ran" in done.stderr


def test_listener_stops_promptly_while_connected_to_a_quiet_stream(db_url, tmp_path):
    import time

    port = free_port()
    with replay_server(port, replay_and_hold):
        started = time.monotonic()
        statuses = listen(db_url, tmp_path, f"ws://127.0.0.1:{port}/", seconds=1.0, interval=5)
        elapsed = time.monotonic() - started
    assert statuses == ["finished"] and elapsed < 8
    run = rows(db_url, CrawlRun)[0]
    assert run.stats["certstream/connects"] == 1 and run.stats["certstream/errors"] == 0
