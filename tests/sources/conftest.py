"""Fixtures for the source tests: recorded API answers, a local server speaking each API, and
``scamradar crawl`` in a subprocess (the Twisted reactor never runs inside pytest)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from httpserver import FixtureServer, Request
from sqlalchemy import select

from storage.db import make_engine, session_factory
from storage.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
LANDING_PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"
CRAWL_TIMEOUT = 120
META_FIXTURE_TOKEN = "EAAFIXTUREtoken0000000000ZDZD"
FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=0",
    "-s",
    "SCAMRADAR_BACKOFF_BASE=0.05",
    "-s",
    "SCAMRADAR_BACKOFF_MAX=0.2",
]
JSON = "application/json; charset=UTF-8"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Crawl:
    """``scamradar`` commands against one database, evidence directory and sources file."""

    tmp: Path
    db_url: str
    env_extra: dict[str, str]

    @property
    def evidence_dir(self) -> Path:
        return self.tmp / "evidence"

    @property
    def config(self) -> Path:
        return self.tmp / "sources.yaml"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SCAMRADAR_", "DATABASE_"))}
        env.update(
            DATABASE_URL=self.db_url,
            SCAMRADAR_EVIDENCE_DIR=str(self.evidence_dir),
            SCAMRADAR_SOURCES=str(self.config),
            PYTHONWARNINGS="error::DeprecationWarning:crawler",
            **self.env_extra,
        )
        return env

    def sources(self, *sources: dict[str, Any]) -> None:
        self.config.write_text(
            yaml.safe_dump(list(sources), allow_unicode=True, sort_keys=False), encoding="utf-8"
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crawler", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=CRAWL_TIMEOUT,
        )

    def crawl(self, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.cli("crawl", name, "--config", str(self.config), *FAST, *extra)

    def query(self, sql_model: Any, *where: Any) -> list[Any]:
        engine = make_engine(self.db_url)
        try:
            with session_factory(engine)() as session:
                return list(session.scalars(select(sql_model).where(*where)))
        finally:
            engine.dispose()

    def rows(self, statement: Any) -> list[Any]:
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(statement))
        finally:
            engine.dispose()

    def all_text(self) -> str:
        """Every value of every column of every table, as text (the secret-grep test)."""
        from storage.models import Base

        chunks = []
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                for table in Base.metadata.sorted_tables:
                    for row in conn.execute(table.select()):
                        chunks.extend(
                            json.dumps(v, default=str, ensure_ascii=False)
                            if isinstance(v, dict | list)
                            else str(v)
                            for v in row
                        )
        finally:
            engine.dispose()
        return "\n".join(chunks)

    def warc_bytes(self) -> bytes:
        out = b""
        for path in sorted(self.evidence_dir.rglob("*.warc.gz")):
            out += gzip.decompress(path.read_bytes())
        return out


@pytest.fixture
def crawl(tmp_path: Path) -> Callable[..., Crawl]:
    """``crawl(**env)``: a crawl helper on a fresh migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'scamradar.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()

    def make(**env: str) -> Crawl:
        return Crawl(tmp_path, url, dict(env))

    return make


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    try:
        yield srv
    finally:
        srv.stop()


# --------------------------------------------------------------------------- API routes


def crtsh_routes(srv: FixtureServer) -> None:
    srv.route("/", body=fixture("crtsh.json"), content_type="application/json")


def vk_routes(srv: FixtureServer) -> None:
    srv.route(
        "/method/newsfeed.search",
        body=fixture("vk_newsfeed_search.json"),
        content_type="application/json",
    )
    srv.route(
        "/method/newsfeed.search?start_from=8/5_-210000003_77",
        body=fixture("vk_newsfeed_search_page2.json"),
        content_type="application/json",
    )
    srv.route("/method/wall.get", body=fixture("vk_wall_get.json"), content_type="application/json")


def youtube_routes(srv: FixtureServer) -> None:
    srv.route("/youtube/v3/search", body=fixture("youtube_search.json"), content_type=JSON)
    srv.route(
        "/youtube/v3/search?pageToken=CAUQAA",
        body=fixture("youtube_search_page2.json"),
        content_type=JSON,
    )
    srv.route("/youtube/v3/videos", body=fixture("youtube_videos.json"), content_type=JSON)


def meta_handler(request: Request) -> tuple[int, dict[str, str], bytes]:
    """ads_archive as Meta serves it: pages by ``after``, the caller's own token echoed inside
    ``paging.next`` and every ``ad_snapshot_url``."""
    pages = {None: "meta_ads_archive_page1.json"}
    for number in (1, 2):
        body = json.loads(fixture(f"meta_ads_archive_page{number}.json"))
        after = body["paging"]["cursors"]["after"]
        pages[after] = (
            f"meta_ads_archive_page{number + 1}.json"
            if number == 1
            else "meta_ads_archive_page3_empty.json"
        )
    name = pages.get(request.query.get("after"), "meta_ads_archive_page3_empty.json")
    token = request.query.get("access_token", "")
    body = fixture(name).replace(META_FIXTURE_TOKEN.encode(), token.encode())
    return 200, {"Content-Type": "application/json; charset=UTF-8"}, body


def meta_routes(srv: FixtureServer) -> None:
    srv.route("/v24.0/ads_archive", handler=meta_handler)
