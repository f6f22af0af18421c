"""The loket's own contact data and opening hours (``data/loket/<municipality>.yml``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bot import i18n
from bot.settings import DATA_DIR, municipality

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Loket:
    id: str
    name: str
    municipality: str
    address: str
    phone: str
    email: str
    website: str
    timezone: str
    hours: dict[str, list[tuple[time, time]]]
    response_working_days: int
    retention_months: int
    fictional: bool

    def local(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self.timezone))

    def is_open(self, now: datetime) -> bool:
        local = self.local(now)
        for start, end in self.hours.get(WEEKDAYS[local.weekday()], []):
            if start <= local.time() < end:
                return True
        return False

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment a person is at the desk (``now`` itself when open)."""
        local = self.local(now)
        if self.is_open(now):
            return local
        for offset in range(0, 8):
            day = local.date() + timedelta(days=offset)
            for start, _ in self.hours.get(WEEKDAYS[day.weekday()], []):
                moment = datetime.combine(day, start, tzinfo=local.tzinfo)
                if moment > local:
                    return moment
        return None

    def hours_text(self, lang: str) -> str:
        """Opening hours, one line per open day, weekday names from the locale."""
        lines = []
        for day in WEEKDAYS:
            slots = self.hours.get(day)
            if slots:
                spans = ", ".join(f"{s:%H:%M}–{e:%H:%M}" for s, e in slots)
                lines.append(f"{i18n.t('weekday.' + day, lang)} {spans}")
        return "\n".join(lines)

    def contact_text(self, lang: str) -> str:
        return i18n.t(
            "loket.contact",
            lang,
            name=self.name,
            address=self.address,
            phone=self.phone,
            email=self.email,
            hours=self.hours_text(lang),
        )

    def moment_text(self, moment: datetime, lang: str) -> str:
        """"Monday 30/11 09:00" in the conversation's language."""
        local = self.local(moment)
        return i18n.t("loket.moment", lang, weekday=i18n.t(f"weekday.{WEEKDAYS[local.weekday()]}",
                                                           lang),
                      date=f"{local.day}/{local.month}", time=f"{local:%H:%M}")


def _parse(data: dict) -> Loket:
    hours = {
        day: [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in slots]
        for day, slots in (data.get("hours") or {}).items()
    }
    unknown = set(hours) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday(s) in loket hours: {sorted(unknown)}")
    return Loket(
        id=data["id"],
        name=data["name"],
        municipality=data["municipality"],
        address=data["address"],
        phone=str(data["phone"]),
        email=data["email"],
        website=data.get("website", ""),
        timezone=data.get("timezone", "Europe/Brussels"),
        hours=hours,
        response_working_days=int(data.get("response_working_days", 3)),
        retention_months=int(data.get("retention_months", 12)),
        fictional=bool(data.get("fictional", False)),
    )


@lru_cache(maxsize=8)
def load(name: str | None = None) -> Loket:
    # BOT_LOKET_FILE points at another configuration file (tests use fixed opening hours)
    override = os.environ.get("BOT_LOKET_FILE")
    path = Path(override) if override and not name else (
        DATA_DIR / "loket" / f"{name or municipality()}.yml")
    return _parse(yaml.safe_load(path.read_text(encoding="utf-8")))
