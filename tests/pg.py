"""A throwaway PostgreSQL server for tests and benchmarks (a plain module, not a conftest).

Usage in a test module (tests/ is on sys.path as pytest's rootdir-relative test folder)::

    from pg import pg_server_url, pg_url  # noqa: F401 - fixtures

    def test_something(request):
        url = request.getfixturevalue("pg_url")  # a parameter named pg_url trips ruff F811

``pg_url`` is a fresh, empty database on the shared server for each test that asks for it;
``pg_server_url`` is the server's maintenance database. The benchmark uses
``running_postgres()`` directly.

How the server is started:
- Binaries: ``$PG_BIN`` if set, else the newest ``/usr/lib/postgresql/<version>/bin`` that has
  ``initdb`` and ``pg_ctl`` (Debian/Ubuntu package ``postgresql``). Missing binaries make the
  fixture FAIL with the install command: CI must have the package, a silent skip would hide
  untested PostgreSQL code.
- ``initdb`` refuses to run as root. As root the cluster directory (a fresh temp dir) is
  chown'ed to the ``postgres`` system user (created by the package) and ``initdb``/``pg_ctl``
  run through ``runuser -u postgres --``; as any other user they run directly.
- The server listens on 127.0.0.1 on a free port, its unix socket stays inside the temp dir,
  authentication is ``trust`` (nothing else can reach it), and durability is off (fsync,
  synchronous_commit, full_page_writes) because the data is thrown away.
- It is started once per test process, on first use, and stopped (``pg_ctl stop -m fast``) and
  deleted at the end of the test session (or of the process, if the session is aborted).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

INSTALL_HINT = "apt-get install -y postgresql  (Debian/Ubuntu; or set PG_BIN to its bin dir)"
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=100 -c shared_buffers=128MB"
)


class PostgresUnavailable(RuntimeError):
    pass


def find_bin_dir() -> Path:
    candidates = [os.environ["PG_BIN"]] if os.environ.get("PG_BIN") else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: float(Path(p).parent.name) if Path(p).parent.name.replace(
            ".", "", 1).isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in "
        f"{os.environ.get('PG_BIN') or '/usr/lib/postgresql/*/bin'}; install them: {INSTALL_HINT}"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One throwaway cluster; ``start()`` → ``url`` → ``stop()``."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.as_root = os.geteuid() == 0
        self.tmp = Path(tempfile.mkdtemp(prefix="bot-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "server.log"
        self.port = _free_port()
        self.started = False

    def _cmd(self, *argv: str) -> list[str]:
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_root else command

    def _run(self, *argv: str) -> None:
        result = subprocess.run(self._cmd(*argv), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.tmp, user="postgres", group="postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.tmp} {SERVER_OPTIONS}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        self.started = True

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        import psycopg2

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                      dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                      dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            connection.close()

    def stop(self) -> None:
        if self.started:
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w",
                                     "stop"), capture_output=True, timeout=60)
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)


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
