"""The storage commands as a user runs them: a real process, a real database."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import make_engine, session_factory
from storage.queries import EXPORT_FIELDS
from storage.reviews import append_review
from storage.runs import get_or_create_source
from storage.sightings import AdSighting, HitData, attach_hit, record_sightings

KAZAKH = "Қазақстанның ұлттық банкі: әңгіме, өтемақы, ғ, ү, һ, і"


def run_cli(*args: str, db_url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def _fill(db_url: str) -> None:
    engine = make_engine(db_url)
    Session = session_factory(engine)
    seen = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with Session.begin() as session:
        tg = get_or_create_source(session, "tg-almaty", "telegram")
        fb = get_or_create_source(session, "meta-eu", "meta_ads")
        flagged, legit = record_sightings(
            session,
            tg.id,
            [
                AdSighting(
                    spider="telegram",
                    external_id="almaty/4813",
                    title="Халық Инвест",
                    text=f"Вложите 50 000 ₸ — получайте 300 000 ₸ в месяц. {KAZAKH}",
                    url="https://t.me/almaty/4813",
                    landing_url="https://halyk-invest.top/?a=1",
                    advertiser="Halyk Invest",
                    seen_at=seen,
                ),
                AdSighting(
                    spider="telegram",
                    external_id="almaty/4814",
                    text="Депозит до 16% годовых",
                    seen_at=seen,
                ),
            ],
        )
        [recovery] = record_sightings(
            session,
            fb.id,
            [
                AdSighting(
                    spider="meta_ads",
                    external_id="9001",
                    text='Вернём деньги, "потерянные"; у брокеров',
                    advertiser="Юрист, Вернём",
                    seen_at=seen,
                ),
            ],
        )
        attach_hit(
            session,
            flagged.ad_id,
            HitData(
                "fake_investment", 0.97, "r1", brands=["halyk"], rules=[("fake_platform_brand", 1)]
            ),
        )
        attach_hit(
            session,
            recovery.ad_id,
            HitData("recovery_scam", 0.9, "r1", rules=[("recovery_prepayment", 1)]),
        )
        attach_hit(session, legit.ad_id, HitData("legit", 0.05, "r1"))
        append_review(session, recovery.ad_id, "confirmed", reviewer="analyst")
    engine.dispose()


def test_db_upgrade_creates_the_schema_then_does_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = run_cli("db", "upgrade", db_url=url)
    again = run_cli("db", "upgrade", db_url=url)
    assert first.returncode == 0 and "migrated empty" in first.stdout
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_export_jsonl_writes_every_design_field(fresh_db_url: str) -> None:
    _fill(fresh_db_url)
    out = run_cli("export", "--format", "jsonl", db_url=fresh_db_url)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 2  # the legit ad is not flagged
    for row in rows:
        assert list(row) == list(EXPORT_FIELDS)
    halyk = next(r for r in rows if r["source"] == "tg-almaty")
    assert halyk["brands"] == ["halyk"] and halyk["rules"] == ["fake_platform_brand"]
    assert halyk["times_seen"] == 1 and halyk["first_seen"].startswith("2026-11-02T09:30")
    assert KAZAKH in halyk["text"]
    assert halyk["landing_url"] == "https://halyk-invest.top/?a=1"


def test_export_csv_opens_in_a_spreadsheet_with_kazakh_letters_intact(
    fresh_db_url: str, tmp_path: Path
) -> None:
    _fill(fresh_db_url)
    target = tmp_path / "flagged.csv"
    out = run_cli("export", "--format", "csv", "-o", str(target), db_url=fresh_db_url)
    assert out.returncode == 0, out.stderr
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that tells Excel it is UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [list(r) for r in rows][0] == list(EXPORT_FIELDS)
    assert any(KAZAKH in r["text"] for r in rows)
    recovery = next(r for r in rows if r["label"] == "recovery_scam")
    assert recovery["advertiser"] == "Юрист, Вернём" and recovery["status"] == "confirmed"
    assert recovery["text"] == 'Вернём деньги, "потерянные"; у брокеров'


def test_export_filters_and_all(fresh_db_url: str) -> None:
    _fill(fresh_db_url)

    def count(*args: str) -> int:
        out = run_cli("export", "--format", "jsonl", *args, db_url=fresh_db_url)
        assert out.returncode == 0, out.stderr
        return len(out.stdout.splitlines())

    assert count("--all") == 3
    assert count("--label", "recovery_scam") == 1
    assert count("--brand", "halyk") == 1
    assert count("--status", "confirmed") == 1
    assert count("--status", "new") == 1
    assert count("--since", "2026-11-03") == 0
    assert count("--since", "2026-11-01") == 2


def test_stats_agrees_with_what_was_stored(fresh_db_url: str) -> None:
    _fill(fresh_db_url)
    out = run_cli("stats", "--json", db_url=fresh_db_url)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["ads"] == 3 and figures["flagged"] == 2
    assert figures["hits_by_label"] == {"fake_investment": 1, "recovery_scam": 1}
    assert figures["hits_by_brand"] == {"halyk": 1}
    assert figures["open_alarms"] == []


@pytest.mark.parametrize(
    ("args", "env_url", "message"),
    [
        (("stats",), "postgresql+psycopg://127.0.0.1:1/nowhere", "cannot reach the database"),
        (("stats",), "not a url", "is not a database URL"),
        (("stats",), "mysql://localhost/x", "supports sqlite and postgresql"),
        (("db", "upgrade"), "sqlite:////nonexistent-dir/x.db", "cannot reach the database"),
        (("export", "--format", "xml"), None, "--format 'xml' is not one of"),
        (("export", "--format", "csv", "--label", "scam"), None, "--label 'scam'"),
        (("export", "--format", "csv", "--status", "done"), None, "--status 'done'"),
        (("export", "--format", "csv", "--since", "last tuesday"), None, "is not a date"),
        (("export",), None, "Missing option '--format'"),
    ],
)
def test_bad_input_gets_one_clear_line_and_a_nonzero_exit(
    args: tuple[str, ...], env_url: str | None, message: str, sqlite_url: str
) -> None:
    out = run_cli(*args, db_url=env_url or sqlite_url)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_commands_on_an_unmigrated_database_say_to_run_db_upgrade(tmp_path: Path) -> None:
    out = run_cli("stats", db_url=f"sqlite:///{tmp_path / 'blank.db'}")
    assert out.returncode == 2 and "scamradar db upgrade" in out.stderr
