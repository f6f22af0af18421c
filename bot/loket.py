"""The loket's own contact data and opening hours (``data/loket/<municipality>.yml``).

The desk is closed outside its weekly hours, on the public holidays of its country (the
``holidays`` package) and the extra holidays its file names (11 July, the holiday of the
Flemish Community), and during its own closure periods (a Christmas closure). Every answer
about "when" takes a moment or a date as input, never the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import yaml

from bot import i18n
from bot.replies import Button, Reply, phone_parts
from bot.settings import DATA_DIR, municipality

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY, CLOSURE = "holiday", "closure"
# how far ahead the next opening is looked for (a long closure plus holidays fits easily)
_LOOKAHEAD_DAYS = 370
# an upcoming closure period is mentioned with the contact data this many days ahead
CLOSURE_NOTICE_DAYS = 30


@dataclass(frozen=True)
class Closure:
    """One of the loket's own closure periods, first and last day included."""

    start: date
    end: date
    name: str

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@lru_cache(maxsize=64)
def _public_holidays(country: str, categories: tuple[str, ...], year: int) -> dict[date, str]:
    return dict(holidays.country_holidays(country, years=year, categories=categories))


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
    holiday_country: str | None = "BE"
    holiday_categories: tuple[str, ...] = ("public",)
    # (month, day, name): holidays the desk keeps besides the country's (11 July)
    extra_holidays: tuple[tuple[int, int, str], ...] = ()
    closures: tuple[Closure, ...] = ()
    working_days: tuple[str, ...] = WEEKDAYS[:5]

    def local(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self.timezone))

    # --- closed days -----------------------------------------------------------------

    def holiday_on(self, day: date) -> str | None:
        """The name of the holiday on ``day`` (the country's or the loket's extra), if any."""
        for month, dom, name in self.extra_holidays:
            if (day.month, day.day) == (month, dom):
                return name
        if self.holiday_country:
            return _public_holidays(self.holiday_country, self.holiday_categories,
                                    day.year).get(day)
        return None

    def closure_on(self, day: date) -> Closure | None:
        return next((c for c in self.closures if c.covers(day)), None)

    def closed_reason(self, day: date) -> str | None:
        """Why the desk is closed all of ``day`` although it may be a day with hours:
        ``"closure"`` (its own closure period), ``"holiday"``, or None."""
        if self.closure_on(day):
            return CLOSURE
        if self.holiday_on(day):
            return HOLIDAY
        return None

    def slots_on(self, day: date) -> list[tuple[time, time]]:
        """Opening hours on ``day``: none on a holiday or in a closure period."""
        if self.closed_reason(day):
            return []
        return self.hours.get(WEEKDAYS[day.weekday()], [])

    def is_working_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.working_days and not self.closed_reason(day)

    def working_days_after(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (not counting ``day`` itself): the last
        day of "within N working days" as promised on ``day``."""
        current, left = day, count
        while left > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current

    # --- open now, next opening ----------------------------------------------------------

    def is_open(self, now: datetime) -> bool:
        local = self.local(now)
        return any(start <= local.time() < end for start, end in self.slots_on(local.date()))

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment a person is at the desk (``now`` itself when open)."""
        local = self.local(now)
        if self.is_open(now):
            return local
        for offset in range(0, _LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for start, _ in self.slots_on(day):
                moment = datetime.combine(day, start, tzinfo=local.tzinfo)
                if moment > local:
                    return moment
        return None

    def next_closure(self, day: date, within_days: int = CLOSURE_NOTICE_DAYS) -> Closure | None:
        """A closure period going on on ``day`` or starting within ``within_days``."""
        upcoming = [c for c in self.closures
                    if c.end >= day and c.start <= day + timedelta(days=within_days)]
        return min(upcoming, key=lambda c: c.start, default=None)

    def hours_text(self, lang: str) -> str:
        """Opening hours, one line per open day, weekday names from the locale."""
        lines = []
        for day in WEEKDAYS:
            slots = self.hours.get(day)
            if slots:
                spans = ", ".join(f"{s:%H:%M}–{e:%H:%M}" for s, e in slots)
                lines.append(f"{i18n.t('weekday.' + day, lang)} {spans}")
        return "\n".join(lines)

    def contact_text(self, lang: str, now: datetime | None = None) -> str:
        """Address, phone, e-mail and hours; given ``now``, also a closed day today (and
        when the desk opens again) or a closure period coming up."""
        text = i18n.t(
            "loket.contact",
            lang,
            name=self.name,
            address=self.address,
            phone=self.phone,
            email=self.email,
            hours=self.hours_text(lang),
        )
        notice = self.closed_notice(now, lang) if now is not None else ""
        return f"{text}\n{notice}" if notice else text

    def contact_reply(self, lang: str, now: datetime | None = None,
                      buttons: tuple[Button, ...] = ()) -> Reply:
        """The contact block as a reply: one message, or (a long name and hours in Arabic,
        Turkish or Ukrainian: more than three UCS-2 SMS segments) parts cut between lines,
        a label line such as "Open:" kept with the line after it."""
        units: list[str] = []
        for line in self.contact_text(lang, now).split("\n"):
            if units and units[-1].endswith(":"):
                units[-1] += "\n" + line
            else:
                units.append(line)
        *first, last = phone_parts(units[0], units[1:])
        return Reply(last, buttons, tuple(first))

    def closed_notice(self, now: datetime, lang: str) -> str:
        """"Closed today (public holiday), open again …" or "closed from … to …", or ""."""
        today = self.local(now).date()
        reason = self.closed_reason(today)
        if reason:
            opening = self.next_opening(now)
            key = "loket.closed_today_" + reason
            text = i18n.t(key, lang, until=self.day_text(self._closed_until(today), lang))
            if opening is not None:
                text += " " + i18n.t("loket.opens_again", lang,
                                     when=self.moment_text(opening, lang))
            return text
        closure = self.next_closure(today)
        if closure is None:
            return ""
        return i18n.t("loket.closure_ahead", lang, start=self.day_text(closure.start, lang),
                      end=self.day_text(closure.end, lang))

    def _closed_until(self, day: date) -> date:
        """The last day of the run of closed days (holidays, closures) that ``day`` is in."""
        while self.closed_reason(day + timedelta(days=1)):
            day += timedelta(days=1)
        return day

    def closed_handoff_text(self, now: datetime, lang: str) -> str:
        """What a family that asks for a person hears while the desk is closed: when a person
        answers, and why the desk is closed on a holiday or in a closure period."""
        opening = self.next_opening(now)
        when = self.moment_text(opening, lang) if opening else "?"
        today = self.local(now).date()
        reason = self.closed_reason(today)
        if reason is None:
            return i18n.t("handoff.closed", lang, when=when)
        return i18n.t(f"handoff.closed_{reason}", lang, when=when,
                      until=self.day_text(self._closed_until(today), lang))

    def day_text(self, day: date, lang: str) -> str:
        """"Friday 1/1" in the conversation's language."""
        return i18n.t("loket.day", lang, weekday=i18n.t(f"weekday.{WEEKDAYS[day.weekday()]}",
                                                        lang),
                      date=f"{day.day}/{day.month}")

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
    working = tuple(data.get("working_days") or WEEKDAYS[:5])
    if set(working) - set(WEEKDAYS):
        wrong = sorted(set(working) - set(WEEKDAYS))
        raise ValueError(f"unknown weekday(s) in working_days: {wrong}")
    days_off = data.get("holidays") or {}
    extra = []
    for item in days_off.get("extra") or []:
        month, day = (int(x) for x in str(item["date"]).split("-"))
        date(2024, month, day)  # a real day of the year (29 February included)
        extra.append((month, day, str(item["name"])))
    closures = []
    for item in data.get("closures") or []:
        start, end = item["from"], item["to"]
        if not (isinstance(start, date) and isinstance(end, date)) or end < start:
            raise ValueError(f"closure {item!r}: from and to must be dates, from <= to")
        closures.append(Closure(start, end, str(item.get("name", ""))))
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
        # Belgian public holidays unless the file says otherwise (country: null: none)
        holiday_country=days_off.get("country", "BE"),
        holiday_categories=tuple(days_off.get("categories") or ("public",)),
        extra_holidays=tuple(extra),
        closures=tuple(sorted(closures, key=lambda c: c.start)),
        working_days=working,
    )


@lru_cache(maxsize=8)
def load(name: str | None = None) -> Loket:
    # BOT_LOKET_FILE points at another configuration file (tests use fixed opening hours)
    override = os.environ.get("BOT_LOKET_FILE")
    path = Path(override) if override and not name else (
        DATA_DIR / "loket" / f"{name or municipality()}.yml")
    return _parse(yaml.safe_load(path.read_text(encoding="utf-8")))
