"""Fixtures for the landing tests: a migrated database and a crawl in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from httpserver import FixtureServer
from landing.support import CrawlResult
from sqlalchemy import select

from storage.db import make_engine, session_factory
from storage.landing import queue_landing_targets
from storage.models import LandingTarget

RUNNER = Path(__file__).resolve().parent / "crawl_runner.py"
REPO = Path(__file__).resolve().parents[2]
CRAWL_TIMEOUT = 120


@pytest.fixture
def landing_db(fresh_sqlite_url: str) -> str:
    return fresh_sqlite_url


@pytest.fixture
def run_landing(
    tmp_path: Path, landing_db: str, http_server: FixtureServer
) -> Callable[..., CrawlResult]:
    """Queue ``queued`` targets, crawl one landing source in a subprocess, return what it did."""

    def run(
        *,
        urls: Iterable[str] = (),
        queued: Iterable[str] = (),
        allow_private: bool = False,
        settings: dict[str, Any] | None = None,
        hosts: dict[str, str] | None = None,
        base_url: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> CrawlResult:
        queued = list(queued)
        engine = make_engine(landing_db)
        try:
            with session_factory(engine).begin() as session:
                queue_landing_targets(session, queued, origin="ad")
        finally:
            engine.dispose()
        source: dict[str, Any] = {
            "name": "landing_test",
            "spider": "landing",
            "schedule": "every 1h",
        }
        if urls:
            source["urls"] = list(urls)
        if base_url:
            source["base_url"] = base_url
        source.update(params or {})
        spec = {
            "source": source,
            "settings": {"RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 5, **(settings or {})},
            "hosts": hosts or {},
            "items_path": str(tmp_path / "items.jsonl"),
            "stats_path": str(tmp_path / "stats.json"),
        }
        spec_path = tmp_path / "spec.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SCAMRADAR_", "DATABASE_URL"))
        }
        env.update(
            DATABASE_URL=landing_db,
            SCAMRADAR_EVIDENCE_DIR=str(tmp_path / "evidence"),
            PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
        )
        if allow_private:
            env["SCAMRADAR_ALLOW_PRIVATE_TARGETS"] = "1"
        proc = subprocess.run(
            [sys.executable, str(RUNNER), str(spec_path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=CRAWL_TIMEOUT,
        )
        items_path, stats_path = tmp_path / "items.jsonl", tmp_path / "stats.json"
        items = (
            [json.loads(line) for line in items_path.read_text(encoding="utf-8").splitlines()]
            if items_path.exists()
            else []
        )
        stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.exists() else {}
        engine = make_engine(landing_db)
        try:
            with session_factory(engine)() as session:
                targets = {
                    t.url: (t.status, t.note) for t in session.scalars(select(LandingTarget))
                }
        finally:
            engine.dispose()
        result = CrawlResult(
            items, stats, targets, proc.stderr, proc.returncode, list(http_server.requests)
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        return result

    return run
