"""The shared secrets between the assistant's own servers, and where they come from.

- The Rasa API token (``RASA_TOKEN``): Rasa's HTTP API, the inbox's way in, the web chat's
  channel and a token-guarded REST channel.
- The action server token (``ACTION_TOKEN``): Rasa sends it with every action call
  (endpoints.yml ``action_endpoint.token``, a ``token`` query parameter); the action server
  refuses a call without it (bot/action_server.py).

Each is read from the environment, else from the file that ``<NAME>_FILE`` names, else from a
file generated once in the var folder (mode 600). A secret never goes on a command line:
every local user can read those in ``ps``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from bot.settings import var_dir

RASA = "RASA_TOKEN"
ACTION = "ACTION_TOKEN"


def stored_token(folder: Path, name: str = "rasa_token") -> str:
    """A token generated once and kept in ``folder/name``, readable by us only."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        # O_EXCL: two servers starting at once must not each write their own token
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def token(variable: str) -> str:
    """``variable`` from the environment, else the file ``<variable>_FILE``, else generated
    into the var folder (``rasa_token``, ``action_token``)."""
    value = os.environ.get(variable, "").strip()
    if value:
        return value
    named = os.environ.get(f"{variable}_FILE", "").strip()
    if named:
        value = Path(named).read_text().strip()
        if not value:
            raise SystemExit(f"{variable}_FILE: {named} is empty")
        return value
    return stored_token(var_dir(), variable.lower())


def rasa_token() -> str:
    return token(RASA)


def action_token() -> str:
    return token(ACTION)


def matches(given: str | None, expected: str) -> bool:
    """Constant time, so the answer's timing tells nothing about the token."""
    return bool(given) and bool(expected) and hmac.compare_digest(
        given.encode(), expected.encode())


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
