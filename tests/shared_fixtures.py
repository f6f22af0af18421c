"""Fixtures every test file can ask for (a pytest plugin: tests/conftest.py loads it through
``pytest_plugins``): the running assistant, shared by the session or started per module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import Served


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``make serve`` on embedded defaults in a fresh var folder (its own SQLite stores),
    one for every test that only chats: each start costs seconds to half a minute."""
    with Served(tmp_path_factory.mktemp("var")) as served:
        yield served


@pytest.fixture(scope="module")
def serve_stack(tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Callable[..., Served]]:
    """``serve_stack(var=None, **settings)``: a stack of this module's own (a loket file, a
    fake Twilio…), started and waited for; every one is stopped when the module is done.
    ``var`` lets a test prepare the folder (a database row) before the start."""
    started: list[Served] = []

    def start(var: Path | None = None, **settings: Any) -> Served:
        served = Served(var or tmp_path_factory.mktemp("stack"), **settings)
        started.append(served)
        return served.start()

    yield start
    for served in reversed(started):
        served.stop()
