"""Fixtures for the collection tests: sources files, and ``scamradar crawl`` in a subprocess.

Crawls always run in a process of their own (the Twisted reactor cannot restart inside pytest),
against the local fixture server (``http_server``); no test touches the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import CrawlRun

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crawl"
CRAWL_TIMEOUT = 120
# Fast but otherwise the production settings: no politeness delay against the local server.
FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=0",
    "-s",
    "SCAMRADAR_BACKOFF_BASE=0.2",
]


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Crawl:
    """Runs ``scamradar`` commands against one database and evidence directory."""

    db_url: str
    evidence_dir: Path
    config: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SCAMRADAR_", "DATABASE_"))}
        env.update(
            DATABASE_URL=self.db_url,
            SCAMRADAR_EVIDENCE_DIR=str(self.evidence_dir),
            SCAMRADAR_SOURCES=str(self.config),
            PYTHONWARNINGS="error::DeprecationWarning:crawler",
        )
        return env

    def cli(self, *args: str, timeout: float = CRAWL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crawler", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def crawl(self, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.cli("crawl", name, "--config", str(self.config), *FAST, *extra)

    def write_sources(self, sources: list[dict[str, Any]]) -> Path:
        self.config.write_text(
            yaml.safe_dump(sources, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        return self.config


@pytest.fixture
def crawl_factory(tmp_path: Path) -> Callable[[str], Crawl]:
    def make(db_url: str) -> Crawl:
        return Crawl(db_url, tmp_path / "evidence", tmp_path / "sources.yaml")

    return make


@pytest.fixture
def crawl(crawl_factory: Callable[[str], Crawl], fresh_sqlite_url: str) -> Crawl:
    """A crawl helper on a fresh SQLite database."""
    return crawl_factory(fresh_sqlite_url)


@pytest.fixture
def db(crawl: Crawl) -> Iterator[Session]:
    engine: Engine = make_engine(crawl.db_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def telegram_routes(server: Any, channel: str = "almaty_zhanalyq_demo") -> None:
    """The channel's two pages and its search, as t.me serves them."""
    server.route(f"/s/{channel}", body=fixture_bytes("telegram_channel.html"))
    server.route(
        f"/s/{channel}?before=4812", body=fixture_bytes("telegram_channel_before_4812.html")
    )
    server.route(
        f"/s/{channel}?before=4809", body=fixture_bytes("telegram_channel_before_4809.html")
    )
    server.route(f"/s/{channel}?q=Казатомпром", body=fixture_bytes("telegram_channel_search.html"))


def telegram_source(server: Any, **params: Any) -> dict[str, Any]:
    return {
        "name": "almaty_tg",
        "spider": "telegram",
        "schedule": "every 30m",
        "base_url": server.base_url,
        "channels": ["almaty_zhanalyq_demo"],
        **params,
    }


@contextmanager
def db_session(url: str) -> Iterator[Session]:
    """A session on the crawl's database (its engine disposed of afterwards)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def last_run(session: Session) -> CrawlRun:
    """The newest crawl run."""
    run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
    assert run is not None, "no crawl run recorded"
    return run
