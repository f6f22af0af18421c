"""Staff accounts and sessions: scrypt password hashes, server-side sessions, CSRF tokens,
throttled logins that an attacker cannot turn into a colleague's lockout.

Sessions live in the database (``staff_sessions``): the cookie carries a random secret, the
table its SHA-256. Logout deletes the row, so it holds when the inbox restarts; a changed
password or a deactivated account deletes every session of that account at once. The user is
re-read on every request, so a changed role counts at once too.

Failed logins (bot/inbox/throttle.py) are counted per address, per account and per browser.
A browser that signed in before carries a *device cookie* (signed, per account): its logins
are limited on their own, so failures from elsewhere (a script guessing the admin's password)
lock out the unknown browsers of that account only, never the colleague at her own desk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, String, delete, select
from sqlalchemy.orm import Session

from bot import db
from bot.db import Base
from bot.handoff import StaffUser, audit
from bot.inbox import throttle
from bot.settings import var_dir

ROLES = ("worker", "admin")
MAX_FAILED_LOGINS = 5  # from browsers the account has not signed in with before
LOCKOUT = timedelta(minutes=15)
SESSION_SECONDS = 10 * 3600  # one working day
DEVICE_SECONDS = 180 * 24 * 3600
MIN_PASSWORD = 12
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# scrypt cost: ~50 ms and 16 MiB per check on the loket's small server
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32


class AccountError(ValueError):
    """Bad account input; ``code`` is a staff text key suffix."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A hash to check unknown usernames against, so they take as long as known ones.
_DUMMY = hash_password(secrets.token_hex(8))


def secret() -> bytes:
    """INBOX_SECRET, else a key generated once into the var folder (mode 600)."""
    env = os.environ.get("INBOX_SECRET")
    if env:
        return env.encode()
    path = var_dir() / "inbox_secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


class Signer:
    """Tokens derived from the inbox secret: CSRF tokens, device cookies, login form tokens."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def mac(self, *parts: str) -> str:
        return _mac(self.key, *parts)

    def csrf(self, sid: str) -> str:
        return _mac(self.key, "csrf", sid)

    def check_csrf(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(sid), str(token))

    # Before login there is no session: the login form's token is bound to a random
    # pre-session cookie (double submit, signed).
    def login_token(self, nonce: str) -> str:
        return _mac(self.key, "login", nonce)

    def check_csrf_login(self, nonce: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.login_token(nonce), str(token))

    def device_cookie(self, username: str) -> str:
        """A browser that signed in as ``username`` (see the module doc)."""
        nonce = secrets.token_urlsafe(12)
        body = f"{nonce}.{_b64(username.encode())}"
        return f"{body}.{_mac(self.key, 'device', body)}"

    def device(self, value: str | None, username: str) -> str | None:
        """The device id of a genuine device cookie of ``username``, else None."""
        if not value or value.count(".") != 2:
            return None
        nonce, name, mac = value.split(".")
        if not hmac.compare_digest(mac, _mac(self.key, "device", f"{nonce}.{name}")):
            return None
        try:
            owner = _unb64(name).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return nonce if owner == username.strip().lower() else None


# --- server-side sessions ------------------------------------------------------------------

class StaffSession(Base):
    __tablename__ = "staff_sessions"

    # sha256 of the cookie: a copy of the table gives no working cookie
    id = Column(String(64), primary_key=True)
    username = Column(String(64), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)


def _session_id(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def start_session(session: Session, user: StaffUser, now: datetime | None = None) -> str:
    """A new session for ``user``: the cookie value (only its hash is stored)."""
    now = now or datetime.now(timezone.utc)
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    cookie = secrets.token_urlsafe(32)
    session.add(StaffSession(id=_session_id(cookie), username=user.username, created_at=now,
                             expires_at=now + timedelta(seconds=SESSION_SECONDS)))
    return cookie


@dataclass(frozen=True)
class SignedIn:
    sid: str  # the session's id (the CSRF token is derived from it)
    username: str
    role: str
    language: str


def signed_in(cookie: str | None, url: str | None = None,
              now: datetime | None = None) -> SignedIn | None:
    """Who this session cookie belongs to: an existing, unexpired session of an active
    account; else None."""
    if not cookie or len(cookie) > 128:
        return None
    now = now or datetime.now(timezone.utc)
    sid = _session_id(cookie)
    with db.session_scope(url) as session:
        row = session.execute(
            select(StaffSession.expires_at, StaffUser.username, StaffUser.role,
                   StaffUser.language)
            .join(StaffUser, StaffUser.username == StaffSession.username)
            .where(StaffSession.id == sid, StaffUser.active.is_(True))).first()
    if row is None or aware(row.expires_at) <= now:
        return None
    return SignedIn(sid, row.username, row.role, row.language)


def end_session(cookie: str | None, url: str | None = None) -> None:
    if cookie:
        with db.session_scope(url) as session:
            session.execute(delete(StaffSession).where(StaffSession.id == _session_id(cookie)))


def end_sessions(session: Session, username: str) -> int:
    """Sign ``username`` out everywhere; how many sessions ended."""
    result = session.execute(delete(StaffSession).where(StaffSession.username == username))
    return result.rowcount or 0


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def find_user(session: Session, username: str) -> StaffUser | None:
    return session.execute(
        select(StaffUser).where(StaffUser.username == username.strip().lower())
    ).scalar_one_or_none()


def authenticate(session: Session, username: str, password: str, *,
                 address: str = "unknown", device: str | None = None,
                 now: datetime | None = None) -> tuple[StaffUser | None, str]:
    """(user, "ok") or (None, "bad" | "locked" | "throttled").

    ``device``: the id of this browser's genuine device cookie for ``username`` (a browser
    the account signed in with before). Such a browser is limited on its own
    (``throttle.MAX_DEVICE_FAILURES``). Any other request is limited per address, and five
    failures from unknown browsers lock the account for them (not for its known browsers)
    for 15 minutes; while locked even the right password is refused there.
    """
    now = now or datetime.now(timezone.utc)
    name = username.strip().lower()
    trusted = device is not None and not throttle.device_blocked(session, device, now)
    if not trusted and throttle.address_blocked(session, address, now):
        return None, "throttled"  # refused before the (costly) password check
    user = find_user(session, name)
    if user is None or not user.active:
        verify_password(password, _DUMMY)
        throttle.record_failure(session, address, name, None, now)
        return None, "bad"
    locked_until = aware(user.locked_until)
    if not trusted and locked_until is not None and locked_until > now:
        verify_password(password, _DUMMY)
        audit(session, user.username, "login_refused", None, "locked")
        return None, "locked"
    if not verify_password(password, user.password_hash):
        throttle.record_failure(session, address, user.username, device if trusted else None,
                                now)
        if trusted:
            return None, "bad"
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            audit(session, user.username, "locked", None,
                  f"{MAX_FAILED_LOGINS} failed logins from unknown browsers")
            return None, "locked"
        return None, "bad"
    if not trusted:
        user.failed_logins = 0
        user.locked_until = None
    audit(session, user.username, "login", None, "known browser" if trusted else None)
    return user, "ok"


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password_short")


def create_user(session: Session, username: str, password: str, *, role: str = "worker",
                language: str = "nl", by: str | None = None) -> StaffUser:
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError("username_invalid")
    if role not in ROLES:
        raise AccountError("role_invalid")
    if language not in ("nl", "en"):
        language = "nl"
    check_new_password(password)
    if find_user(session, username) is not None:
        raise AccountError("username_taken")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role,
                     language=language, failed_logins=0)
    session.add(user)
    session.flush()
    audit(session, by, "user_created", username, role)
    return user


def set_password(session: Session, user: StaffUser, password: str, by: str | None) -> None:
    """A new password; every session of the account ends."""
    check_new_password(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(session, user.username)
    audit(session, by, "password_set", user.username)


def set_active(session: Session, user: StaffUser, active: bool, by: str | None) -> None:
    """Deactivate (every session ends, no login) or reactivate an account."""
    user.active = active
    if not active:
        end_sessions(session, user.username)
    audit(session, by, "reactivated" if active else "deactivated", user.username)


def unlock(session: Session, user: StaffUser, by: str | None) -> None:
    user.failed_logins = 0
    user.locked_until = None
    audit(session, by, "unlocked", user.username)
