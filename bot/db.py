"""The assistant's own database: engines, sessions, the declarative base and migrations.

Every module with tables (places, requests, messages…) declares its models on ``Base`` and adds
an Alembic revision under ``bot/migrations/versions``. Callers open one session per unit of
work with ``session_scope()``; no module keeps a shared session.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, declarative_base
from sqlalchemy.pool import QueuePool, StaticPool

from bot import settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Stable constraint names, so that later migrations (also SQLite batch ones) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_lock = threading.Lock()
_migrate_lock = threading.Lock()
_PG_MIGRATION_LOCK = 0x6B6F6B  # any constant shared by every process migrating this schema


def _resolve(url: str | None) -> str:
    return url or settings.db_url()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL makes NORMAL durable enough (a power cut may lose the last commit, never corrupt).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_pragmas_memory(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default ``bot.settings.db_url()``), created once per URL."""
    url = _resolve(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            _engines[url] = engine
        return engine


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, future=True, pool_pre_ping=True)
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        # One shared connection, or every session would see its own empty database.
        engine = create_engine(
            url,
            future=True,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas_memory)
        return engine
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        poolclass=QueuePool,  # SQLAlchemy 1.4 would reconnect (and re-run PRAGMAs) per session
        pool_size=5,
        max_overflow=10,
        connect_args={"check_same_thread": False, "timeout": 10},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def dispose_engine(url: str | None = None) -> None:
    """Close the pooled connections of ``url`` and forget its engine (tests, DROP DATABASE)."""
    url = _resolve(url)
    with _lock:
        engine = _engines.pop(url, None)
        _upgraded.discard(url)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One session for one unit of work: committed on success, rolled back on any error."""
    session = Session(get_engine(url), future=True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config():
    """Alembic configuration of ``bot/migrations`` (its alembic.ini; URL from the caller)."""
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Run the Alembic migrations of ``url`` up to ``revision`` (once per process for head).

    Safe when several processes start at once (action server and Rasa server): they take
    turns, and the later ones find the schema up to date.
    """
    from alembic import command

    url = _resolve(url)
    if revision == "head" and url in _upgraded:
        return
    engine = get_engine(url)
    database = engine.url.database or ""
    file_lock = (
        _file_lock(Path(f"{database}.migrate.lock"))
        if engine.dialect.name == "sqlite" and database not in ("", ":memory:")
        and not database.startswith("file:")
        else contextlib.nullcontext()
    )
    config = alembic_config()
    # alembic.context is process-global: one migration at a time in this process too.
    with _migrate_lock, file_lock, engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        # Handing over the connection avoids ini interpolation of the URL (passwords with %)
        # and lets an in-memory SQLite database be migrated in place.
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    if revision == "head":
        with _lock:
            _upgraded.add(url)
