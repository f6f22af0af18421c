#!/usr/bin/env bash
# Re-resolve constraints.txt (every package pinned) from requirements.txt in a clean venv.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python310.sh
PY=$(find_python) || { echo "lock: Python 3.10 not found" >&2; exit 1; }
tmp=$(mktemp -d)
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet -r requirements.txt
"$tmp/venv/bin/pip" check
"$tmp/venv/bin/pip" freeze > constraints.txt
rm -rf "$tmp"
echo "lock: constraints.txt updated"
