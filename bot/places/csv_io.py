"""CSV import and export of locations and their availability (format: data/places/README.md).

One row per availability row, with the columns of its location repeated; a location without
free places has one row with empty availability columns. An import is one transaction: every
row is checked first, and one malformed row (reported with its line number) means nothing is
written.
"""

from __future__ import annotations

import csv
import io
import re
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.places import geo
from bot.places.models import (
    CARE_TYPES,
    KINDS,
    WEEKDAYS,
    Availability,
    CareLocation,
    Organisation,
)

LOCATION_COLUMNS = [
    "location_ref", "organisation", "name", "care_type", "pricing", "address", "postcode",
    "municipality", "phone", "email",
    "hours_mon", "hours_tue", "hours_wed", "hours_thu", "hours_fri", "hours_sat", "hours_sun",
    "opens_early", "closes_late", "weekend", "night", "languages", "inclusive",
    "min_age_months", "max_age_months", "capacity", "fictional",
]
AVAILABILITY_COLUMNS = ["available_from", "available_to", "weekdays", "places", "kind",
                        "updated_by"]
COLUMNS = LOCATION_COLUMNS + AVAILABILITY_COLUMNS
REQUIRED = {"location_ref", "name", "care_type", "pricing", "postcode", "municipality"}

EARLY_BEFORE = "07:00"
LATE_AFTER = "18:30"
MAX_ERRORS = 50

_TRUE = {"1", "true", "yes", "y", "ja", "j", "x", "oui", "waar"}
_FALSE = {"0", "false", "no", "n", "nee", "non", "onwaar"}
_PRICING_ALIASES = {
    "income_related": "income_related", "ikt": "income_related",
    "inkomenstarief": "income_related", "inkomensgerelateerd": "income_related",
    "free_price": "free_price", "vrije prijs": "free_price", "vrij": "free_price",
    "vrije_prijs": "free_price",
}
_DAY_ALIASES = {
    name: day
    for names in (
        WEEKDAYS,
        ("mo", "tu", "we", "th", "fr", "sa", "su"),
        ("ma", "di", "wo", "do", "vr", "za", "zo"),  # Dutch
        ("maa", "din", "woe", "don", "vri", "zat", "zon"),  # Dutch, written out
        ("lun", "mar", "mer", "jeu", "ven", "sam", "dim"),  # French
        ("1", "2", "3", "4", "5", "6", "7"),  # ISO weekday numbers
    )
    for day, name in enumerate(names)
}
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HOURS = re.compile(r"(\d{1,2})[:.h](\d{2})\s*[-–]\s*(\d{1,2})[:.h](\d{2})")
_RELATIVE = re.compile(r"(?:today|vandaag)?\s*([+-]\s*\d+)\s*([dwm])", re.IGNORECASE)


@dataclass
class RowError:
    line: int
    column: str | None
    code: str
    value: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.code.replace('_', ' ')}" + (f" {self.value!r}" if self.value
                                                            else "")

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "code": self.code, "value": self.value}


class CsvImportError(ValueError):
    """The file has malformed rows; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} malformed row(s), nothing imported: {shown}{more}")


@dataclass
class _Row:
    line: int
    location: dict[str, Any]
    organisation: str | None
    availability: dict[str, Any] | None


@dataclass
class ImportResult:
    rows: int = 0
    locations_created: int = 0
    locations_updated: int = 0
    locations_unchanged: int = 0
    availability_created: int = 0
    availability_updated: int = 0
    availability_deleted: int = 0
    organisations_created: int = 0
    refs: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "refs"}


# --- parsing -----------------------------------------------------------------------------


def parse_date(text: str, today: date) -> date:
    """ISO ``2025-03-01``, Belgian ``01/03/2025`` or ``01-03-2025``, or relative to ``today``:
    ``today``, ``+30d``, ``-7d``, ``+2w``, ``+3m`` (calendar months)."""
    value = text.strip().lower()
    if value in ("today", "vandaag"):
        return today
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount = int(relative.group(1).replace(" ", ""))
        unit = relative.group(2).lower()
        if unit == "d":
            return today + timedelta(days=amount)
        if unit == "w":
            return today + timedelta(weeks=amount)
        month_index = today.year * 12 + today.month - 1 + amount
        year, month = divmod(month_index, 12)
        return date(year, month + 1, min(today.day, monthrange(year, month + 1)[1]))
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def parse_weekdays(text: str) -> int:
    """``mon tue wed``, ``mon,wed``, ``ma-vr``, ``1-5``, ``all`` → bit mask (bit 0 = Monday)."""
    value = text.strip().lower()
    if value in ("", "all", "alle", "tous"):
        return 0b1111111 if value else 0b0011111
    mask = 0
    for part in re.split(r"[\s,;/|+]+", value):
        if not part:
            continue
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2:
            low, high = (_DAY_ALIASES.get(b.strip("."), _DAY_ALIASES.get(b[:3]))
                         for b in bounds)
            if low is None or high is None or low > high:
                raise ValueError(part)
            for day in range(low, high + 1):
                mask |= 1 << day
        else:
            part = part.strip(".")
            day = _DAY_ALIASES.get(part, _DAY_ALIASES.get(part[:3]))
            if day is None:
                raise ValueError(part)
            mask |= 1 << day
    if not mask:
        raise ValueError(text)
    return mask


def format_weekdays(mask: int) -> str:
    return " ".join(name for bit, name in enumerate(WEEKDAYS) if mask & (1 << bit))


def parse_hours(text: str) -> str | None:
    value = text.strip().lower()
    if value in ("", "-", "closed", "gesloten", "ferme", "fermé", "dicht"):
        return None
    match = _HOURS.fullmatch(value)
    if not match:
        raise ValueError(text)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 <= 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60) or (h1, m1) == (h2, m2):
        raise ValueError(text)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def parse_flag(text: str) -> bool | None:
    value = text.strip().lower()
    if value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(text)


def _int(text: str, low: int, high: int) -> int:
    value = int(text.strip())
    if not low <= value <= high:
        raise ValueError(text)
    return value


class _RowParser:
    def __init__(self, today: date) -> None:
        self.today = today
        self.errors: list[RowError] = []

    def error(self, line: int, column: str | None, code: str, value: str = "") -> None:
        self.errors.append(RowError(line, column, code, value))

    def parse(self, line: int, raw: dict[str, str]) -> _Row | None:
        before = len(self.errors)
        get = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        for column in REQUIRED:
            if not get[column]:
                self.error(line, column, "missing_value")
        if len(self.errors) > before:
            return None
        loc: dict[str, Any] = {}
        ref = get["location_ref"]
        if not _REF.fullmatch(ref):
            self.error(line, "location_ref", "bad_reference", ref)
        loc["ref"] = ref
        loc["name"] = get["name"][:200]
        care_type = get["care_type"].lower()
        if care_type not in CARE_TYPES:
            self.error(line, "care_type", "unknown_care_type", get["care_type"])
        loc["care_type"] = care_type
        pricing = _PRICING_ALIASES.get(get["pricing"].lower().replace("-", " "))
        if pricing is None:
            pricing = _PRICING_ALIASES.get(get["pricing"].lower())
        if pricing is None:
            self.error(line, "pricing", "unknown_pricing", get["pricing"])
        loc["pricing"] = pricing
        loc["address"] = get["address"][:200]
        postcode = geo.clean_postcode(get["postcode"])
        if postcode is None or not geo.is_valid_postcode(postcode):
            self.error(line, "postcode", "bad_postcode", get["postcode"])
        loc["postcode"] = postcode
        place = geo.resolve_location(get["municipality"])
        if place is None or not place.known or place.how in ("fuzzy", "postcode"):
            self.error(line, "municipality", "unknown_municipality", get["municipality"])
        else:
            loc["municipality"] = place.municipality
            owner = geo.municipality_of(postcode) if postcode else None
            if owner is not None and owner != place.municipality:
                self.error(line, "postcode", "postcode_of_other_municipality",
                           f"{postcode} {owner}")
        loc["phone"] = get["phone"][:40] or None
        email = get["email"]
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            self.error(line, "email", "bad_email", email)
        loc["email"] = email or None
        for day in WEEKDAYS:
            column = f"hours_{day}"
            try:
                loc[column] = parse_hours(get[column])
            except ValueError:
                self.error(line, column, "bad_hours", get[column])
        flags = {}
        for column in ("opens_early", "closes_late", "weekend", "night", "inclusive",
                       "fictional"):
            try:
                flags[column] = parse_flag(get[column])
            except ValueError:
                self.error(line, column, "bad_flag", get[column])
        hours = [loc.get(f"hours_{day}") for day in WEEKDAYS]
        open_hours = [h for h in hours if h]
        derived = {
            "opens_early": any(h[:5] < EARLY_BEFORE for h in open_hours),
            "closes_late": any(h[6:] > LATE_AFTER or h[6:] < h[:5] for h in open_hours),
            "weekend": bool(hours[5] or hours[6]),
            "night": any(h[6:] < h[:5] for h in open_hours),
            "inclusive": care_type == "inclusieve_opvang",
            "fictional": False,
        }
        for column, value in flags.items():
            loc[column] = derived[column] if value is None else value
        languages = [x for x in re.split(r"[\s,;|/]+", get["languages"].lower()) if x]
        if any(not re.fullmatch(r"[a-z]{2}", x) for x in languages):
            self.error(line, "languages", "bad_languages", get["languages"])
        loc["languages"] = " ".join(dict.fromkeys(languages)) or "nl"
        default_ages = (30, 144) if care_type == "buitenschoolse_opvang" else (0, 36)
        for column, default in zip(("min_age_months", "max_age_months"), default_ages, strict=True):
            try:
                loc[column] = _int(get[column], 0, 216) if get[column] else default
            except ValueError:
                self.error(line, column, "bad_number", get[column])
        if loc.get("min_age_months", 0) > loc.get("max_age_months", 216):
            self.error(line, "max_age_months", "age_range_reversed", get["max_age_months"])
        try:
            loc["capacity"] = _int(get["capacity"], 0, 10000) if get["capacity"] else 0
        except ValueError:
            self.error(line, "capacity", "bad_number", get["capacity"])
        availability = self._availability(line, get)
        if len(self.errors) > before:
            return None
        return _Row(line, loc, get["organisation"][:200] or None, availability)

    def _availability(self, line: int, get: dict[str, str]) -> dict[str, Any] | None:
        if not get["available_from"]:
            for column in ("available_to", "places"):
                if get[column]:
                    self.error(line, "available_from", "missing_value")
                    break
            return None
        slot: dict[str, Any] = {}
        try:
            slot["date_from"] = parse_date(get["available_from"], self.today)
        except (ValueError, OverflowError):  # also "+999999999999d"
            self.error(line, "available_from", "bad_date", get["available_from"])
        slot["date_to"] = None
        if get["available_to"]:
            try:
                slot["date_to"] = parse_date(get["available_to"], self.today)
            except (ValueError, OverflowError):
                self.error(line, "available_to", "bad_date", get["available_to"])
            else:
                if "date_from" in slot and slot["date_to"] < slot["date_from"]:
                    self.error(line, "available_to", "ends_before_start", get["available_to"])
        try:
            slot["weekdays"] = parse_weekdays(get["weekdays"])
        except ValueError:
            self.error(line, "weekdays", "bad_weekdays", get["weekdays"])
        if not get["places"]:
            self.error(line, "places", "missing_value")
        else:
            try:
                slot["places"] = _int(get["places"], 0, 1000)
            except ValueError:
                self.error(line, "places", "bad_number", get["places"])
        kind = (get["kind"] or "regular").lower()
        if kind not in KINDS:
            self.error(line, "kind", "unknown_kind", get["kind"])
        slot["kind"] = kind
        slot["updated_by"] = get["updated_by"][:80] or None
        return slot


def read_rows(handle: IO[str], *, today: date | None = None) -> list[_Row]:
    """Parse and check a whole file; raises CsvImportError listing every malformed row."""
    text = handle.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:  # a NUL byte in the header line
        raise CsvImportError([RowError(1, None, "unreadable_line")]) from exc
    header = [(h or "").strip().lower() for h in (fieldnames or [])]
    reader.fieldnames = header
    errors = [RowError(1, h, "unknown_column") for h in header if h and h not in COLUMNS]
    errors += [RowError(1, h, "missing_column") for h in sorted(REQUIRED - set(header))]
    if errors:
        raise CsvImportError(errors)
    parser = _RowParser(today or date.today())
    rows: list[_Row] = []
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error:  # e.g. a NUL byte: the file cannot be read past this line
            parser.error(reader.line_num + 1, None, "unreadable_line")
            break
        line = reader.line_num
        if None in raw:
            parser.error(line, None, "too_many_fields")
            continue
        if not any((v or "").strip() for v in raw.values()):
            continue  # blank line
        row = parser.parse(line, raw)
        if row is not None:
            rows.append(row)
        if len(parser.errors) >= MAX_ERRORS:
            break
    _check_consistency(rows, parser)
    if parser.errors:
        raise CsvImportError(parser.errors)
    return rows


def _check_consistency(rows: list[_Row], parser: _RowParser) -> None:
    first: dict[str, _Row] = {}
    keys: set[tuple] = set()
    for row in rows:
        ref = row.location["ref"]
        seen = first.setdefault(ref, row)
        if seen is not row and (seen.location != row.location
                                or seen.organisation != row.organisation):
            parser.error(row.line, "location_ref", "location_differs_from_line",
                         f"{ref} (line {seen.line})")
        if row.availability is not None:
            slot = row.availability
            key = (ref, slot["date_from"], slot["date_to"], slot["weekdays"], slot["kind"])
            if key in keys:
                parser.error(row.line, "available_from", "duplicate_availability", ref)
            keys.add(key)


# --- import ------------------------------------------------------------------------------


def import_rows(session: Session, rows: list[_Row]) -> ImportResult:
    """Upsert the parsed rows: locations by ``location_ref``; each listed location's
    availability becomes exactly the file's rows (kept rows keep their id and version)."""
    result = ImportResult(rows=len(rows))
    by_ref: dict[str, list[_Row]] = {}
    for row in rows:
        by_ref.setdefault(row.location["ref"], []).append(row)
    result.refs = list(by_ref)
    organisations = _organisations(session, rows, result)
    existing: dict[str, CareLocation] = {}
    refs = list(by_ref)
    for chunk in range(0, len(refs), 500):
        for location in session.execute(
            select(CareLocation)
            .where(CareLocation.ref.in_(refs[chunk:chunk + 500]))
            .options(selectinload(CareLocation.availability))
        ).scalars():
            existing[location.ref] = location
    for ref, group in by_ref.items():
        data = dict(group[0].location)
        organisation = organisations.get(group[0].organisation) if group[0].organisation else None
        location = existing.get(ref)
        if location is None:
            location = CareLocation(**data, organisation=organisation)
            session.add(location)
            result.locations_created += 1
        else:
            changed = location.organisation is not organisation
            for key, value in data.items():
                if getattr(location, key) != value:
                    setattr(location, key, value)
                    changed = True
            location.organisation = organisation
            if changed:
                result.locations_updated += 1
            else:
                result.locations_unchanged += 1
        _sync_availability(location, [r.availability for r in group if r.availability], result)
    session.flush()
    return result


def _organisations(session: Session, rows: list[_Row], result: ImportResult) -> dict:
    names = {row.organisation for row in rows if row.organisation}
    found = {
        org.name: org
        for org in session.execute(
            select(Organisation).where(Organisation.name.in_(sorted(names)))
        ).scalars()
    } if names else {}
    for row in rows:
        name = row.organisation
        if name and name not in found:
            found[name] = Organisation(name=name, phone=row.location["phone"],
                                       email=row.location["email"],
                                       fictional=row.location["fictional"])
            session.add(found[name])
            result.organisations_created += 1
    return found


def _sync_availability(location: CareLocation, slots: list[dict], result: ImportResult) -> None:
    current = {
        (a.date_from, a.date_to, a.weekdays, a.kind): a for a in list(location.availability)
    }
    for slot in slots:
        key = (slot["date_from"], slot["date_to"], slot["weekdays"], slot["kind"])
        row = current.pop(key, None)
        if row is None:
            location.availability.append(Availability(**slot))
            result.availability_created += 1
        elif row.places != slot["places"]:
            row.places = slot["places"]
            row.updated_by = slot["updated_by"]
            result.availability_updated += 1
    for row in current.values():
        location.availability.remove(row)
        result.availability_deleted += 1


def import_csv(
    session: Session, source: str | Path | IO[str], *, today: date | None = None
) -> ImportResult:
    """Check and import a CSV file into ``session`` (the caller's transaction)."""
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            rows = read_rows(handle, today=today)
    else:
        rows = read_rows(source, today=today)
    return import_rows(session, rows)


# --- export ------------------------------------------------------------------------------


def _flag(value: bool) -> str:
    return "true" if value else "false"


def export_rows(session: Session) -> Iterable[dict[str, str]]:
    query = (
        select(CareLocation)
        .options(selectinload(CareLocation.availability), selectinload(CareLocation.organisation))
        .order_by(CareLocation.ref)
    )
    for location in session.execute(query).scalars():
        base = {
            "location_ref": location.ref,
            "organisation": location.organisation.name if location.organisation else "",
            "name": location.name,
            "care_type": location.care_type,
            "pricing": location.pricing,
            "address": location.address or "",
            "postcode": location.postcode,
            "municipality": location.municipality,
            "phone": location.phone or "",
            "email": location.email or "",
            **{f"hours_{d}": getattr(location, f"hours_{d}") or "" for d in WEEKDAYS},
            "opens_early": _flag(location.opens_early),
            "closes_late": _flag(location.closes_late),
            "weekend": _flag(location.weekend),
            "night": _flag(location.night),
            "languages": location.languages,
            "inclusive": _flag(location.inclusive),
            "min_age_months": str(location.min_age_months),
            "max_age_months": str(location.max_age_months),
            "capacity": str(location.capacity),
            "fictional": _flag(location.fictional),
        }
        slots = sorted(location.availability,
                       key=lambda a: (a.date_from, a.kind, a.weekdays, a.date_to or date.max))
        if not slots:
            yield {**base, **{c: "" for c in AVAILABILITY_COLUMNS}}
        for slot in slots:
            yield {
                **base,
                "available_from": slot.date_from.isoformat(),
                "available_to": slot.date_to.isoformat() if slot.date_to else "",
                "weekdays": format_weekdays(slot.weekdays),
                "places": str(slot.places),
                "kind": slot.kind,
                "updated_by": slot.updated_by or "",
            }


def export_csv(session: Session, target: IO[str]) -> int:
    """Write every location and availability row; returns the number of data rows."""
    writer = csv.DictWriter(target, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in export_rows(session):
        writer.writerow(row)
        count += 1
    return count
