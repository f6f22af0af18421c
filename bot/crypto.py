"""Encryption at rest for special-category data (a child's health and allergy notes).

The key comes from ``BOT_ENCRYPTION_KEY`` (a Fernet key). On embedded defaults, with no key
set, a development key is generated once into the var folder (mode 600); it is never in the
repository. Losing the key makes those notes unreadable, which is the point of it.
"""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.fernet import Fernet

from bot.settings import var_dir


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = os.environ.get("BOT_ENCRYPTION_KEY")
    if not key:
        path = var_dir() / "encryption.key"
        if not path.exists():
            path.write_bytes(Fernet.generate_key())
            path.chmod(0o600)
        key = path.read_text().strip()
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(text: str | None) -> str | None:
    return None if text is None else _fernet().encrypt(text.encode()).decode()


def decrypt(token: str | None) -> str | None:
    return None if token is None else _fernet().decrypt(token.encode()).decode()
