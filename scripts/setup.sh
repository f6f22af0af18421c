#!/usr/bin/env bash
# Build (or reuse) the project's Python environment and link it as .venv.
#
# Rasa 3.6 needs Python 3.10. The environment lives in a cache outside the repo, keyed by the
# Python version and the pinned dependencies, so a second clone or a CI run reuses it; a first
# run on a new machine builds it from scratch (about 3 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/python310.sh

PY=$(find_python) || {
  echo "setup: Python 3.10 is required (Rasa Open Source 3.6 runs on 3.10 only) and was not found." >&2
  echo "setup: install it (e.g. 'pyenv install 3.10.13' or your OS package python3.10), or set PYTHON310=/path/to/python3.10." >&2
  exit 1
}

CACHE_ROOT=${BOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/loket-bot}
KEY=$( { "$PY" -c 'import sys; print(sys.version)'; cat requirements.txt constraints.txt; } | sha256sum | cut -c1-16)
VENV="$CACHE_ROOT/venv-$KEY"

# Two `make` commands started at once (a test run and a chat) must not build the same
# environment over each other: the second waits for the first and then reuses its result.
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.setup.lock"
flock 9

if [ ! -f "$VENV/.complete" ]; then
  echo "setup: building the environment in $VENV (first time on this machine: a few minutes)"
  rm -rf "$VENV"
  mkdir -p "$CACHE_ROOT"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip<25" wheel
  "$VENV/bin/python" -m pip install --quiet -r requirements.txt -c constraints.txt
  "$VENV/bin/python" -m pip check
  touch "$VENV/.complete"
fi
ln -sfn "$VENV" .venv
echo "setup: .venv -> $VENV ($("$VENV/bin/python" --version))"
