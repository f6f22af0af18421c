"""Staff accounts and sessions: scrypt password hashes, HMAC-signed session cookies, CSRF
tokens, lockout after repeated failed logins.

Sessions are stateless signed cookies (the inbox may restart without logging everyone out);
the user is re-read from the database on every request, so a deleted account or a changed
role or password takes effect at once, and logout revokes the session id in this process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff import StaffUser, audit
from bot.settings import var_dir

ROLES = ("worker", "admin")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_SECONDS = 10 * 3600  # one working day
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


@dataclass(frozen=True)
class SessionData:
    username: str
    sid: str
    expires: float
    password_tag: str


class Signer:
    def __init__(self, key: bytes) -> None:
        self.key = key

    def password_tag(self, password_hash: str) -> str:
        """Changes when the password changes: older sessions then stop working."""
        return _mac(self.key, "pw", password_hash)[:16]

    def session_cookie(self, user: StaffUser, now: float | None = None) -> tuple[str, str]:
        """A new session for ``user``: (cookie value, session id)."""
        sid = secrets.token_urlsafe(18)
        payload = {"u": user.username, "s": sid,
                   "e": int((now or time.time()) + SESSION_SECONDS),
                   "p": self.password_tag(user.password_hash)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_mac(self.key, 'session', body)}", sid

    def read_session(self, value: str | None, now: float | None = None) -> SessionData | None:
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, _mac(self.key, "session", body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            data = SessionData(str(payload["u"]), str(payload["s"]), float(payload["e"]),
                               str(payload["p"]))
        except (ValueError, KeyError, TypeError):
            return None
        if data.expires < (now or time.time()):
            return None
        return data

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


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def find_user(session: Session, username: str) -> StaffUser | None:
    return session.execute(
        select(StaffUser).where(StaffUser.username == username.strip().lower())
    ).scalar_one_or_none()


def authenticate(session: Session, username: str, password: str,
                 now: datetime | None = None) -> tuple[StaffUser | None, str]:
    """(user, "ok") or (None, "bad" | "locked"). Five failures lock the account for 15
    minutes; while locked even the right password is refused."""
    now = now or datetime.now(timezone.utc)
    user = find_user(session, username)
    if user is None:
        verify_password(password, _DUMMY)
        return None, "bad"
    locked_until = aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        verify_password(password, _DUMMY)
        audit(session, user.username, "login_refused", None, "locked")
        return None, "locked"
    if not verify_password(password, user.password_hash):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            audit(session, user.username, "locked", None, f"{MAX_FAILED_LOGINS} failed logins")
            return None, "locked"
        return None, "bad"
    user.failed_logins = 0
    user.locked_until = None
    audit(session, user.username, "login")
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
    check_new_password(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    audit(session, by, "password_set", user.username)


def unlock(session: Session, user: StaffUser, by: str | None) -> None:
    user.failed_logins = 0
    user.locked_until = None
    audit(session, by, "unlocked", user.username)
