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

# The console's browser tests drive Debian's Chromium through Playwright (never `playwright
# install`: no browser downloads here), with a font that has Cyrillic and Kazakh letters.
apt_packages=()
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_packages+=(fonts-dejavu-core)
if [ "${#apt_packages[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo -n)
  echo "scripts/test.sh: installing ${apt_packages[*]} for the browser tests" >&2
  if ! { "${sudo_cmd[@]}" apt-get update -qq \
      && "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
         --no-install-recommends "${apt_packages[@]}" >/dev/null; }; then
    echo "scripts/test.sh: could not install ${apt_packages[*]}; the browser tests will skip" >&2
  fi
fi

set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests: that is a broken checkout, not a pass" >&2
  exit 1
fi
exit "$rc"
