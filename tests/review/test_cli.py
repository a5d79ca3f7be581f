"""``scamradar users …`` and ``scamradar serve`` from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _cli(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCAMRADAR_", "DATABASE_"))}
    env["DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_are_added_listed_changed_and_disabled_from_the_command_line(
    fresh_db_url: str,
) -> None:
    added = _cli(
        fresh_db_url,
        "users",
        "add",
        "aigerim",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "added admin aigerim" in added.stderr
    again = _cli(
        fresh_db_url, "users", "add", "aigerim", "--password-stdin", stdin="another password!\n"
    )
    assert (
        again.returncode == 2
        and "exists already" in again.stderr
        and "Traceback" not in again.stderr
    )
    short = _cli(fresh_db_url, "users", "add", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    bad_role = _cli(
        fresh_db_url,
        "users",
        "add",
        "bob",
        "--role",
        "root",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert bad_role.returncode == 2 and "role" in bad_role.stderr
    assert (
        _cli(
            fresh_db_url,
            "users",
            "passwd",
            "aigerim",
            "--password-stdin",
            stdin="a new long password\n",
        ).returncode
        == 0
    )
    assert _cli(fresh_db_url, "users", "role", "aigerim", "analyst").returncode == 0
    assert _cli(fresh_db_url, "users", "disable", "aigerim").returncode == 0
    listed = _cli(fresh_db_url, "users", "list")
    assert listed.stdout.startswith("aigerim\tanalyst\tdisabled\t")
    missing = _cli(fresh_db_url, "users", "disable", "nobody")
    assert missing.returncode == 2 and "no user 'nobody'" in missing.stderr


def test_serve_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    done = _cli(f"sqlite:///{tmp_path / 'empty.db'}", "serve", "--port", "1")
    assert done.returncode == 2
    assert "scamradar db upgrade" in done.stderr and "Traceback" not in done.stderr
