#!/usr/bin/env bash
# The Debian packages the tests need, installed when they are missing:
#   postgresql    the store tests on PostgreSQL and the scaled set-up (initdb, pg_ctl)
#   chromium      the inbox in a real browser (tests/test_inbox_browser.py drives
#                 /usr/bin/chromium through Playwright: no chromedriver needed)
#   redis-server  the scaled set-up's lock store (tests/test_scaled.py, test_faults.py)
#   nginx-light   the scaled set-up's front (same tests)
#
# As root it runs apt-get itself, otherwise through `sudo -n`: never a password prompt, since
# `make test` also runs unattended. When neither works it prints the one command to run and
# exits 1 before any test starts, rather than failing four test files later.
#
# Only bash builtins and `id`, `apt-get`, `sudo` are used, so tests/test_system_packages.py can
# run it with a PATH of fakes; SYSTEM_PACKAGES_ROOT (default: none) is put in front of the
# fixed paths it looks at (/usr/lib/postgresql, /usr/bin/chromium, /usr/sbin/nginx).
set -euo pipefail

root=${SYSTEM_PACKAGES_ROOT:-}

has_postgresql() {
  # what bot/services.py looks for: $PG_BIN, else /usr/lib/postgresql/<version>/bin
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]
    return
  fi
  local initdb
  for initdb in "$root"/usr/lib/postgresql/*/bin/initdb; do
    [ -x "$initdb" ] && return 0
  done
  return 1
}

# The missing packages, one per line.
missing() {
  has_postgresql || echo postgresql
  [ -x "$root/usr/bin/chromium" ] || echo chromium
  command -v redis-server >/dev/null 2>&1 || echo redis-server
  # /usr/sbin is not on an ordinary user's PATH on Debian
  command -v nginx >/dev/null 2>&1 || [ -x "$root/usr/sbin/nginx" ] || echo nginx-light
}

mapfile -t need < <(missing)
[ ${#need[@]} -eq 0 ] && exit 0

say() { echo "system-packages: $*" >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
  say "the tests need ${need[*]} (Debian package names); this system has no apt-get:"
  say "install them with its own package manager"
  exit 1
fi

if [ "$(id -u)" = 0 ]; then
  as_root() { DEBIAN_FRONTEND=noninteractive "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  # sudo passes a VAR=value given before the command (no `env` needed)
  as_root() { sudo -n DEBIAN_FRONTEND=noninteractive "$@"; }
else
  say "the tests need the Debian packages ${need[*]}; install them with:"
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
  exit 1
fi

say "installing ${need[*]}"
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${need[@]}"

# a package that installed but still left its program missing (another distribution's
# layout, a failed post-install step) must not pass as installed
mapfile -t still < <(missing)
if [ ${#still[@]} -gt 0 ]; then
  say "still missing after apt-get install: ${still[*]}"
  exit 1
fi
