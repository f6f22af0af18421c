#!/usr/bin/env bash
# Every test: lint, unit and integration tests, Rasa data validation and conversation stories,
# and the end-to-end tests that start the assistant (all run from pytest).
#
# --fast (make test-fast), the edit loop: lint and every test that needs neither a running
# assistant nor the Rasa command line or a loaded model (-m "not e2e and not slow"), with a
# fifth of the property tests' generated inputs. The fault tests' Twilio outage is 10 s there
# instead of a minute, for when they are chosen anyway:
# make test-fast ARGS="-m e2e tests/test_faults.py" (a later -m wins).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh  # PostgreSQL, Chromium, Redis, nginx: installed or a clear stop
export PYTHONPATH="$PWD" RASA_TELEMETRY_ENABLED=false BOT_STRICT_I18N=1
fast=false
if [ "${1:-}" = --fast ]; then
  fast=true
  shift
fi
.venv/bin/python -m ruff check .
if $fast; then
  export FAULT_OUTAGE_SECONDS="${FAULT_OUTAGE_SECONDS:-10}" FUZZ_SCALE="${FUZZ_SCALE:-0.2}"
  exec .venv/bin/python -m pytest -q -m "not e2e and not slow" "$@"
fi
# the reference run: Twilio down for a full minute, every generated input
export FAULT_OUTAGE_SECONDS=60 FUZZ_SCALE=1
.venv/bin/python -m bot.model >/dev/null   # train once up front when data changed
exec .venv/bin/python -m pytest -q "$@"
