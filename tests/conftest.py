"""Shared test set-up: strict translations, and the plugin modules with the shared fixtures
(the running assistant: tests/shared_fixtures.py on tests/serving.py; a throwaway PostgreSQL:
tests/pg.py)."""

from __future__ import annotations

import os

os.environ["BOT_STRICT_I18N"] = "1"  # a missing text fails the test instead of showing Dutch

pytest_plugins = ["shared_fixtures", "pg"]

# helpers older test files import from here
from serving import ROOT, free_port, http_json  # noqa: E402

__all__ = ["ROOT", "free_port", "http_json"]
