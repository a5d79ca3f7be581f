#!/usr/bin/env bash
# Install scamradar and run the main job on the embedded defaults: `bash scripts/run.sh`.
# `scamradar demo` serves the bundled sample sources on 127.0.0.1, crawls each into the database
# (DATABASE_URL, default ./scamradar.db, SQLite: created and migrated if needed) and prints what
# was flagged. Uses the active virtualenv, or makes ./.venv when none is active.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install --quiet --disable-pip-version-check -e .
scamradar demo
