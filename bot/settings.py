"""Paths and settings shared by every part of the assistant, read from the environment."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
DATA_DIR = ROOT / "data"
LANGUAGES_FILE = DATA_DIR / "languages.yml"


def _languages() -> tuple[tuple[str, ...], str, frozenset[str]]:
    """The spoken languages, the default and the right-to-left ones, from data/languages.yml:
    the one list every part reads, so a new language is data, not code."""
    with LANGUAGES_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    codes = tuple(str(code) for code in data.get("languages") or ())
    default = str(data.get("default") or "")
    rtl = frozenset(str(code) for code in data.get("rtl") or ())
    if not codes or default not in codes or not rtl <= set(codes) or len(set(codes)) < len(codes):
        raise ValueError(f"{LANGUAGES_FILE}: a list of distinct codes with the default among them")
    return codes, default, rtl


LANGUAGES, DEFAULT_LANGUAGE, RTL_LANGUAGES = _languages()


_made: set[str] = set()  # folders created already: db_url() runs once per database session


def var_dir() -> Path:
    """Folder for run-time state on embedded defaults (SQLite files, generated keys)."""
    raw = os.environ.get("BOT_VAR_DIR") or str(ROOT / "var")
    path = Path(raw)
    if raw not in _made or not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        _made.add(raw)
    return path


def db_url() -> str:
    """Database of the assistant's own data (places, requests, messages)."""
    return os.environ.get("BOT_DB_URL") or f"sqlite:///{var_dir() / 'bot.db'}"


def municipality() -> str:
    """Which loket this deployment serves (a file in data/loket/)."""
    return os.environ.get("BOT_MUNICIPALITY", "demo")


TZ = ZoneInfo("Europe/Brussels")


def today() -> date:
    """The loket's date (Brussels). ``BOT_TODAY`` (YYYY-MM-DD) pins it, so that the conversation
    evaluation and end-to-end tests can state "vanaf maart" against a known day."""
    pinned = os.environ.get("BOT_TODAY")
    return date.fromisoformat(pinned) if pinned else datetime.now(TZ).date()


def now() -> datetime:
    """The loket's current moment (Brussels): with ``BOT_TODAY`` the pinned date at the time
    of day of the clock, so that a holiday can be tried at any time ("is the loket open?")."""
    current = datetime.now(TZ)
    if not os.environ.get("BOT_TODAY"):
        return current
    return datetime.combine(today(), current.timetz())


def claim_timeout_minutes() -> int:
    """A claim whose holder has sent the family nothing for this long goes back to the queue
    and the family is told (``INBOX_CLAIM_TIMEOUT_MINUTES``, default 20; 0 turns it off)."""
    raw = os.environ.get("INBOX_CLAIM_TIMEOUT_MINUTES", "20")
    try:
        return max(int(raw), 0)
    except ValueError:
        raise ValueError(f"INBOX_CLAIM_TIMEOUT_MINUTES must be a whole number: {raw!r}") from None
