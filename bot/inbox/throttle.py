"""Who is asking, and how often: the client's address, failed logins, request rates.

- **Failed logins** are rows of ``login_failures`` (kept 15 minutes): a restart of the inbox
  forgets nothing. Counted per address (``MAX_ADDRESS_FAILURES``: one machine trying many
  usernames), per known browser (``MAX_DEVICE_FAILURES``, see bot/inbox/auth.py) and, through
  ``StaffUser.failed_logins``, per account for unknown browsers.
- **Request rates** of the web chat are sliding windows in memory (``Limiter``): a rate
  limit that a restart resets costs an attacker one restart of ours, which they cannot cause.
- **The address**: the TCP peer; behind the municipality's reverse proxy
  (``INBOX_TRUST_PROXY=1``) the last address in ``X-Forwarded-For``, the one the proxy added.
  Never trust the header without a proxy in front: anyone could write any address there.
"""

from __future__ import annotations

import os
import time
from collections import deque
from datetime import datetime, timedelta, timezone

from aiohttp import web
from sqlalchemy import Column, DateTime, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Session

from bot.db import Base

WINDOW = timedelta(minutes=15)
MAX_ADDRESS_FAILURES = 10  # failed logins from one address in WINDOW, any usernames
MAX_DEVICE_FAILURES = 5  # failed logins from one known browser in WINDOW


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_address", "address", "at"),
        Index("ix_login_failures_username", "username", "at"),
    )

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, index=True)
    address = Column(String(64), nullable=False)
    username = Column(String(64), nullable=False)
    device = Column(String(32), nullable=True)  # the known browser it came from


def _count(session: Session, *where: object) -> int:
    return int(session.execute(select(func.count()).select_from(LoginFailure)
                               .where(*where)).scalar() or 0)


def address_blocked(session: Session, address: str, now: datetime) -> bool:
    return _count(session, LoginFailure.address == address[:64],
                  LoginFailure.at > now - WINDOW) >= MAX_ADDRESS_FAILURES


def device_blocked(session: Session, device: str, now: datetime) -> bool:
    return _count(session, LoginFailure.device == device[:32],
                  LoginFailure.at > now - WINDOW) >= MAX_DEVICE_FAILURES


def record_failure(session: Session, address: str, username: str, device: str | None,
                   now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))
    session.add(LoginFailure(at=now, address=address[:64], username=username[:64],
                             device=device[:32] if device else None))


def trust_proxy() -> bool:
    return os.environ.get("INBOX_TRUST_PROXY") == "1"


def client_address(request: web.Request) -> str:
    if trust_proxy():
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1][:64]
    return (request.remote or "unknown")[:64]


class Limiter:
    """At most ``limit`` events per key in ``seconds`` (a sliding window, in memory)."""

    def __init__(self, limit: int, seconds: float, max_keys: int = 50_000) -> None:
        self.limit, self.seconds, self.max_keys = limit, seconds, max_keys
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count one event for ``key`` unless it is over its limit (then it is not counted)."""
        now = time.monotonic() if now is None else now
        window = self._events.setdefault(key, deque())
        while window and now - window[0] > self.seconds:
            window.popleft()
        if len(window) >= self.limit:
            return False
        window.append(now)
        if len(self._events) > self.max_keys:
            self._forget(now)
        return True

    def seen(self, key: str) -> bool:
        return bool(self._events.get(key))

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or now - v[-1] > self.seconds]:
            del self._events[key]
