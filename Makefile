# The project's commands. Every target sets up the environment first when needed.
PY := .venv/bin/python
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false

.PHONY: setup train serve serve-scaled run chat test test-fast system-packages lint nlu-report converse-eval langid-bench lock bench

# Cheap when the cached environment exists: it only checks the key and links .venv.
setup:
	@scripts/setup.sh

train: setup
	@$(PY) -m bot.model

serve: setup
	@$(PY) -m bot serve

# 2 Rasa + 2 action servers behind nginx, PostgreSQL and Redis (docs/SCALING.md); data in
# var/scaled/. Needs postgresql, redis-server and nginx-light (Debian packages).
serve-scaled: setup
	@$(PY) -m bot serve-scaled

# Runs the whole assistant on embedded defaults and chats with it in this terminal: the ports of
# make serve (RASA_PORT, ACTION_PORT, INBOX_PORT), the banner in BOT_DEFAULT_LANGUAGE; /quit,
# Ctrl-D, Ctrl-C or SIGTERM stops every server it started.
run: setup
	@$(PY) -m bot chat --serve

# Every test (about 11 minutes on 2 cores). First installs the Debian packages the tests need
# when missing (root or `sudo -n`; otherwise it stops with the command to run), before the
# environment build: a fresh machine learns at once. ARGS go to pytest.
test: system-packages setup
	@scripts/test.sh $(ARGS)

# The edit loop (under 3 minutes): lint and every test that needs no running assistant and no
# Rasa command line (pytest -m "not e2e and not slow"), e.g. ARGS="tests/test_intake.py -x".
test-fast: system-packages setup
	@scripts/test.sh --fast $(ARGS)

system-packages:
	@scripts/system-packages.sh

lint: setup
	@$(PY) -m ruff check .

nlu-report: setup
	@$(PY) -m bot nlu-report

# Scripted personas talk to a fresh assistant in free words; prints per language how many
# conversations ended fully right (options: make converse-eval ARGS="--lang nl --show-failures").
converse-eval: setup
	@$(PY) -m tests.converse $(ARGS)

langid-bench: setup
	@$(PY) -m bot langid-bench

bench: setup
	@$(PY) benchmarks/chat_load.py

# Re-resolve the pinned dependency set after changing requirements.txt.
lock:
	@scripts/lock.sh
