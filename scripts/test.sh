#!/usr/bin/env bash
# Install what the tests need, then run them: `bash scripts/test.sh [pytest args]`.
# Uses the active virtualenv, or makes ./.venv when none is active. Extra Debian packages that
# some tests need are installed here too (when run as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install --quiet --disable-pip-version-check -e '.[test]'

set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests: that is a broken checkout, not a pass" >&2
  exit 1
fi
exit "$rc"
