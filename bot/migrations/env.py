"""Alembic environment of the assistant's database (online mode only).

``bot.db.upgrade()`` hands over an open connection in ``config.attributes["connection"]``;
the ``alembic`` command line connects to env ``BOT_DB_URL`` (default: the embedded SQLite file).
Logging is left alone on purpose: configuring it here would silence the application's loggers.
"""

from __future__ import annotations

import importlib

from alembic import context

from bot import settings
from bot.db import Base, get_engine


def _import_models() -> None:
    """Import every ``bot/<package>/models.py`` so autogenerate sees all tables."""
    for path in sorted((settings.ROOT / "bot").glob("*/models.py")):
        importlib.import_module(f"bot.{path.parent.name}.models")
    for module in ("connectors.messages", "bot.handoff"):  # models kept beside their functions
        importlib.import_module(module)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        # Called by bot.db.upgrade(): revisions do not need the models, and not importing
        # them keeps one broken module from blocking every migration.
        _run(connection)
        return
    _import_models()  # the alembic command line, e.g. revision --autogenerate
    with get_engine(settings.db_url()).connect() as connection:
        _run(connection)
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations()
