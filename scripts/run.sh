#!/usr/bin/env bash
# Install scamradar and run the main job on the embedded defaults: `bash scripts/run.sh`.
# Uses the active virtualenv, or makes ./.venv when none is active; the database is
# DATABASE_URL (default: ./scamradar.db, SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install --quiet --disable-pip-version-check -e .
scamradar db upgrade
scamradar stats
