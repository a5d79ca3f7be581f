"""Schedules in the persistent job store: explicit ids, no duplicates, removals, changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from crawler.scheduling import build_scheduler, close_orphaned_runs, sync_jobs
from crawler.sources import parse_sources
from storage.db import make_engine, session_factory
from storage.models import CrawlRun
from storage.runs import get_or_create_source, open_crawl_run

TWO = """
- name: tg-almaty
  spider: telegram
  schedule: every 30m
  channels: [almaty_zhanalyq_demo]
- name: news
  spider: feeds
  schedule: "0 */6 * * *"
  urls: [https://example.kz/news.rss]
"""


def _scheduler(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    scheduler = build_scheduler(engine, workers=2, misfire_grace_s=60)
    scheduler.start(paused=True)
    return scheduler, engine


def test_a_restart_neither_duplicates_nor_loses_schedules(fresh_db_url: str) -> None:
    sources = parse_sources(TWO).sources
    first, engine = _scheduler(fresh_db_url)
    report = sync_jobs(first, sources)
    assert sorted(report.added) == ["news", "tg-almaty"]
    first.shutdown(wait=False)
    engine.dispose()

    again, engine = _scheduler(fresh_db_url)
    report = sync_jobs(again, sources)
    assert report.added == [] and sorted(report.kept) == ["news", "tg-almaty"]
    assert sorted(job.id for job in again.get_jobs()) == ["source:news", "source:tg-almaty"]
    again.shutdown(wait=False)
    engine.dispose()


def test_a_removed_source_loses_its_job_and_a_changed_schedule_takes_effect(
    fresh_db_url: str,
) -> None:
    scheduler, engine = _scheduler(fresh_db_url)
    sync_jobs(scheduler, parse_sources(TWO).sources)
    changed = TWO.replace("every 30m", "every 5m").split("- name: news")[0]
    report = sync_jobs(scheduler, parse_sources(changed).sources)
    assert report.removed == ["news"] and report.changed == ["tg-almaty"]
    [job] = scheduler.get_jobs()
    assert job.id == "source:tg-almaty" and "0:05:00" in str(job.trigger)
    assert job.max_instances == 1 and job.coalesce and job.misfire_grace_time == 60
    scheduler.shutdown(wait=False)
    engine.dispose()


def test_runs_left_running_by_a_dead_process_are_closed_as_interrupted(fresh_db_url: str) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    engine = make_engine(fresh_db_url)
    Session = session_factory(engine)
    with Session.begin() as session:
        source = get_or_create_source(session, "tg", "telegram")
        orphan = open_crawl_run(session, source, pid=dead.pid).id
        alive = open_crawl_run(session, source, pid=os.getpid()).id
    with Session.begin() as session:
        assert close_orphaned_runs(session) == [orphan]
    with Session() as session:
        statuses = dict(session.execute(select(CrawlRun.id, CrawlRun.status)).all())
    assert statuses == {orphan: "interrupted", alive: "running"}
    engine.dispose()


def test_schedule_rejects_a_bad_cron_expression_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(TWO.replace("0 */6 * * *", "61 * * * *"), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "crawler", "schedule", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )
    assert out.returncode == 2
    assert "news" in out.stderr and "schedule" in out.stderr and "Traceback" not in out.stderr


def test_schedule_on_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(TWO, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "crawler", "schedule", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_URL": "postgresql+psycopg://127.0.0.1:1/none"},
    )
    assert out.returncode == 2 and "cannot reach the database" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
