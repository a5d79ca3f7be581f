"""`scamradar crawl NAME --config FILE` for a landing source: real pipelines and database."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from landing.support import cloaking_handler, page
from sqlalchemy import select

from storage.db import make_engine, session_factory
from storage.landing import queue_landing_targets
from storage.models import Ad, CrawlRun, Evidence, LandingTarget

CRAWL_TIMEOUT = 180
pytestmark = pytest.mark.slow  # each test runs `scamradar crawl` in a subprocess


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCAMRADAR_", "DATABASE_URL"))}
    env.update(DATABASE_URL=db_url, SCAMRADAR_EVIDENCE_DIR=str(tmp_path / "evidence"))
    return env


def scamradar_crawl(
    tmp_path: Path, db_url: str, config: str, *, allow_private: bool = False
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sources.yaml").write_text(config, encoding="utf-8")
    env = _env(db_url, tmp_path)
    if allow_private:
        env["SCAMRADAR_ALLOW_PRIVATE_TARGETS"] = "1"
    overrides = ["DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False", "RETRY_TIMES=0"]
    args = [sys.executable, "-m", "crawler", "crawl", "promo_pages", "--config", "sources.yaml"]
    for item in overrides:
        args += ["--set", item]
    return subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT
    )


def test_scamradar_crawl_stores_a_cloaked_landing_page_with_both_captures_as_evidence(
    tmp_path: Path, landing_db: str, http_server
) -> None:
    http_server.route("/news/", handler=cloaking_handler(page("prelander"), page("whitepage")))
    config = f"""
- name: promo_pages
  spider: landing
  schedule: every 15m
  base_url: {http_server.base_url}
  urls:
    - https://kazatom-invest.example/news/?sub1=fb_17&fbclid=IwAR0demo
"""
    proc = scamradar_crawl(tmp_path, landing_db, config)
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout

    engine = make_engine(landing_db)
    try:
        with session_factory(engine)() as session:
            (ad,) = session.scalars(select(Ad)).all()
            assert ad.spider == "landing"
            # the verdict travels in extra; Ad.cloaked is the store pipeline's to fill
            assert ad.extra["cloaked"] is True
            assert ad.title.startswith("Новости Казахстана")
            assert ad.label == "fake_investment"  # the phone's page went through the rules
            evidence = session.scalars(select(Evidence).where(Evidence.ad_id == ad.id)).all()
            assert sorted(e.kind for e in evidence) == ["landing", "landing_bot"]
            assert all(len(e.sha256) == 64 for e in evidence)
            (run,) = session.scalars(select(CrawlRun)).all()
            assert run.status == "finished" and run.items == 1
    finally:
        engine.dispose()
    verify = subprocess.run(
        [sys.executable, "-m", "crawler", "evidence", "verify"],
        cwd=tmp_path,
        env=_env(landing_db, tmp_path),
        capture_output=True,
        text=True,
        timeout=CRAWL_TIMEOUT,
    )
    assert verify.returncode == 0, verify.stderr + verify.stdout
    assert "2 intact" in verify.stdout


def test_scamradar_crawl_refuses_queued_private_targets_and_marks_them(
    tmp_path: Path, landing_db: str, http_server
) -> None:
    port = urlsplit(http_server.base_url).port
    http_server.route("/ok/", body=page("recovery"), content_type="text/html; charset=utf-8")
    http_server.route("/secret", body=b"<title>internal</title>", content_type="text/html")
    queued = [
        f"http://127.0.0.1:{port}/secret",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        f"http://localhost:{port}/secret",
    ]
    engine = make_engine(landing_db)
    try:
        with session_factory(engine).begin() as session:
            queue_landing_targets(session, queued, origin="ad")
    finally:
        engine.dispose()
    config = f"""
- name: promo_pages
  spider: landing
  schedule: every 15m
  urls: ["{http_server.url("/ok/")}"]
"""
    proc = scamradar_crawl(tmp_path, landing_db, config)
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout

    assert http_server.hits("/secret") == []
    engine = make_engine(landing_db)
    try:
        with session_factory(engine)() as session:
            targets = {t.url: t for t in session.scalars(select(LandingTarget))}
            assert {targets[u].status for u in queued} == {"refused"}
            (run,) = session.scalars(select(CrawlRun)).all()
            assert run.stats["landing/refused_private"] == 4
    finally:
        engine.dispose()


def _loopback_host_name() -> str | None:
    """This machine's host name when the system resolver maps it to loopback (/etc/hosts)."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    return name if addresses and all(a.is_loopback for a in addresses) else None


def test_scamradar_crawl_refuses_a_host_name_that_the_system_resolves_to_loopback(
    tmp_path: Path, landing_db: str, http_server
) -> None:
    name = _loopback_host_name()
    if name is None or name == "localhost":
        pytest.skip("this machine's host name does not resolve to loopback only")
    port = urlsplit(http_server.base_url).port
    http_server.route("/ok/", body=page("recovery"), content_type="text/html; charset=utf-8")
    http_server.route("/secret", body=b"<title>internal</title>", content_type="text/html")
    target = f"http://{name}:{port}/secret"
    engine = make_engine(landing_db)
    try:
        with session_factory(engine).begin() as session:
            queue_landing_targets(session, [target], origin="ctlog")
    finally:
        engine.dispose()
    config = f"""
- name: promo_pages
  spider: landing
  schedule: every 15m
  urls: ["{http_server.url("/ok/")}"]
"""
    proc = scamradar_crawl(tmp_path, landing_db, config)
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout

    assert http_server.hits("/secret") == []  # the guard held with Scrapy's own resolver
    engine = make_engine(landing_db)
    try:
        with session_factory(engine)() as session:
            (row,) = session.scalars(select(LandingTarget).where(LandingTarget.url == target))
            assert row.status == "refused"
            assert f"{name} resolves to 127." in (row.note or "")
    finally:
        engine.dispose()
