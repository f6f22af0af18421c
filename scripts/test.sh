#!/usr/bin/env bash
# Every test: lint, unit and integration tests, Rasa data validation and conversation stories,
# and the end-to-end tests that start the assistant (all run from pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh  # PostgreSQL, Chromium, Redis, nginx: installed or a clear stop
export PYTHONPATH="$PWD" RASA_TELEMETRY_ENABLED=false BOT_STRICT_I18N=1
.venv/bin/python -m ruff check .
.venv/bin/python -m bot.model >/dev/null   # train once up front when data changed
exec .venv/bin/python -m pytest -q "$@"
