from __future__ import annotations

import json
import os
import subprocess
import sys

from httpserver import FixtureServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.health import AlertEvent, Webhook, evaluate_source
from storage.models import SourceAlert, utcnow
from storage.runs import RunCounts, close_crawl_run, get_or_create_source, open_crawl_run


def _runs(session: Session, source_id: int, *statuses: str) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    assert source.id == source_id
    for status in statuses:
        run = open_crawl_run(session, source)
        close_crawl_run(session, run.id, status, RunCounts(), error=f"{status} run")


def test_a_source_failing_n_runs_raises_its_alarm_once_and_clears_on_recovery(
    session: Session,
) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    _runs(session, source.id, "finished", "failed", "empty")
    assert evaluate_source(session, source.id, after_runs=3) is None  # only two bad runs yet

    _runs(session, source.id, "timeout")
    raised = evaluate_source(session, source.id, after_runs=3)
    assert raised is not None and raised.event == "raised"
    assert "timeout, empty, failed" in raised.reason
    assert evaluate_source(session, source.id, after_runs=3) is None  # still open, not raised again

    _runs(session, source.id, "failed")
    assert evaluate_source(session, source.id, after_runs=3) is None

    _runs(session, source.id, "finished")
    cleared = evaluate_source(session, source.id, after_runs=3)
    assert cleared is not None and cleared.event == "cleared"
    alerts = list(session.scalars(select(SourceAlert)))
    assert len(alerts) == 1 and alerts[0].closed_at is not None


def test_the_webhook_receives_the_event_as_json(http_server: FixtureServer) -> None:
    http_server.route("/hook", status=200, body="ok")
    event = AlertEvent("raised", "tg", "last 3 runs went wrong", [1, 2, 3], utcnow())
    Webhook(http_server.url("/hook")).send(event).join(10)
    [request] = http_server.hits("/hook")
    assert request.method == "POST"
    payload = json.loads(request.body)
    assert payload["event"] == "raised" and payload["source"] == "tg"
    assert payload["runs"] == [1, 2, 3]


def test_the_webhook_retries_a_failing_receiver(http_server: FixtureServer) -> None:
    http_server.route("/hook", status=200, body="ok")
    http_server.route("/hook", status=503, body="busy", times=2)
    event = AlertEvent("cleared", "tg", "run 9 ended finished", [9], utcnow())
    Webhook(http_server.url("/hook")).send(event).join(30)
    assert len(http_server.hits("/hook")) == 3


def test_runs_prints_the_history_as_json(fresh_db_url: str) -> None:
    from storage.db import make_engine, session_factory

    engine = make_engine(fresh_db_url)
    with session_factory(engine).begin() as session:
        source = get_or_create_source(session, "feeds-kz", "feeds")
        run = open_crawl_run(session, source)
        close_crawl_run(session, run.id, "finished", RunCounts(items=5, ads_new=4, hits=1))
        open_crawl_run(session, source)
    engine.dispose()
    out = subprocess.run(
        [sys.executable, "-m", "crawler", "runs", "--json", "--source", "feeds-kz"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": fresh_db_url},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)
    assert [r["status"] for r in runs] == ["running", "finished"]
    done = runs[1]
    assert set(done) >= {
        "id",
        "source",
        "spider",
        "status",
        "started_at",
        "finished_at",
        "items",
        "ads_new",
        "ads_seen_again",
        "hits",
        "errors",
        "error",
    }
    assert done["source"] == "feeds-kz" and done["items"] == 5 and done["finished_at"]
