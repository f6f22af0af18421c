"""A throwaway PostgreSQL server for tests and benchmarks (a pytest plugin: tests/conftest.py
loads it through ``pytest_plugins``, so every test module can ask for its fixtures)::

    def test_something(pg_url):
        ...

``pg_url`` is a fresh, empty database on the shared server for each test that asks for it;
``pg_server_url`` is the server's maintenance database. The benchmark uses
``running_postgres()`` directly.

How the server is started: ``bot.services.PostgresServer`` (binaries, running as root through
``runuser -u postgres``, loopback on a free port, ``trust``) in a fresh temp dir, with
durability off (fsync, synchronous_commit, full_page_writes): the data is thrown away.
Missing binaries make the fixture FAIL with the install command: CI must have the package, a
silent skip would hide untested PostgreSQL code. The server is started once per test process,
on first use, and stopped and deleted at the end of the test session (or of the process, if
the session is aborted).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot import services
from bot.services import PostgresUnavailable

INSTALL_HINT = services.PG_INSTALL_HINT
find_bin_dir = services.find_pg_bin_dir


class PostgresServer(services.PostgresServer):
    """One throwaway cluster in a fresh temp dir; ``start()`` → ``url()`` → ``stop()``."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="bot-pg-")), durable=False)
        self.started = False

    @property
    def tmp(self) -> Path:
        return self.folder

    def start(self, timeout: int = 60) -> None:
        super().start(timeout)
        self.started = True

    def stop(self) -> None:
        super().stop()
        self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


# One server per test process, shared by every module that imports the fixtures.
_shared: PostgresServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> PostgresServer:
    global _shared
    with _shared_lock:
        if _shared is None:
            server = PostgresServer()
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            _shared = server
            atexit.register(stop_shared_server)
        return _shared


def stop_shared_server() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of the shared throwaway server's ``postgres`` database; fails if not installable."""
    try:
        server = shared_server()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server.url()
    # Session teardown: every test of every module is done. atexit covers aborted runs.
    stop_shared_server()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh empty database on the shared server, dropped after the test."""
    from bot import db

    server = shared_server()
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    yield url
    db.dispose_engine(url)
    server.drop_database(name)
