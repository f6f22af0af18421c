"""Search for free places: the one function the command line and the Rasa action both call.

Filtering, ranking and the details of the page happen in one SQL statement: a window function
picks each location's best availability row, ORDER BY … LIMIT ranks the locations, and only
that page is joined to the location details. A search over thousands of locations thus reads
the covering availability index of its area and returns a page, not the table.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, String, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.places import geo
from bot.places.models import (
    CARE_TYPES,
    PRICINGS,
    WEEKDAYS,
    Availability,
    CareLocation,
    Organisation,
    weekday_names,
)

# A place that frees up later than this after the wanted start is not a fit.
WINDOW_DAYS = 92
# Urgent care (dringende opvang) is care needed within a month.
URGENT_WINDOW_DAYS = 31
# Waiting times are compared in whole weeks, so that a preference (price, hours, language)
# outweighs a difference of a few days; the exact date only breaks ties.
WAIT_BUCKET_DAYS = 7
MAX_LIMIT = 100

A = Availability.__table__
L = CareLocation.__table__
ORG = Organisation.__table__


class SearchError(ValueError):
    """Bad search input; ``code`` is stable (callers map it to a localised message)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code.replace('_', ' ')}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def age_in_months(birth: date, on: date) -> int:
    """Completed months of a child born on ``birth`` at ``on``."""
    months = (on.year - birth.year) * 12 + on.month - birth.month
    return months - 1 if on.day < birth.day else months


def _as_date(value: date | str | None, name: str) -> date | None:
    """Dates may come as ISO strings (slots, JSON); anything else is bad input."""
    if isinstance(value, datetime):
        return value.date()
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SearchError(f"bad_{name}", str(value)) from None


def _area(postcode: str | None, municipality: str | None) -> tuple[str | None, str | None]:
    """The own municipality and own postcode of the search (either may stay None)."""
    own_postcode = None
    own = None
    if postcode is not None and str(postcode).strip():
        if not geo.is_valid_postcode(postcode):
            raise SearchError("bad_postcode", str(postcode))
        found = geo.resolve_location(str(postcode))
        own_postcode = found.postcode if found else None
        own = found.municipality if found else None
    if municipality is not None and str(municipality).strip():
        found = geo.resolve_location(municipality)
        if found is None or not found.known:
            raise SearchError("unknown_municipality", str(municipality))
        if own is not None and found.municipality != own:
            own_postcode = None  # a postcode of another municipality says nothing here
        own = found.municipality
    return own, own_postcode


def search(
    session: Session,
    *,
    postcode: str | None = None,
    municipality: str | None = None,
    start: date | str | None = None,
    child_birth_date: date | str | None = None,
    days_per_week: int | None = None,
    care_type: str | None = None,
    income_related: bool | None = None,
    occasional: bool = False,
    urgent: bool = False,
    include_neighbours: bool = True,
    limit: int = 10,
    offset: int = 0,
    prefer_pricing: str | None = None,
    needs_early: bool = False,
    needs_late: bool = False,
    needs_weekend: bool = False,
    language: str | None = None,
    inclusive: bool = False,
    window_days: int | None = None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """Locations with free places that fit, best first (one result per location).

    Area: the municipality of ``municipality`` (any spelling geo.resolve_location accepts) or
    of ``postcode``, plus its configured neighbours; without either, everywhere. Time: places
    free on ``start`` (default today) or from at most ``window_days`` (92; 31 when urgent) after
    it. Child: its age in months on ``start`` within the location's age range. Kind: regular
    places; ``occasional`` asks occasional places instead, ``urgent`` adds urgent places (and
    narrows the window). ``care_type`` filters the location's type (occasionele_opvang implies
    ``occasional``, dringende_opvang implies ``urgent``). ``income_related`` True/False keeps
    only that pricing; ``prefer_pricing`` ranks it first without filtering.

    Ranking: own municipality before neighbours; then the wait in whole weeks; then the
    preferences (pricing, hours: early/late/weekend, language); then the exact date, more free
    places, and the same postcode. Raises SearchError on bad input.
    """
    today = today or date.today()
    start = _as_date(start, "start") or today
    child_birth_date = _as_date(child_birth_date, "child_birth_date")
    if care_type is not None and care_type not in CARE_TYPES:
        raise SearchError("bad_care_type", str(care_type))
    if prefer_pricing is not None and prefer_pricing not in PRICINGS:
        raise SearchError("bad_pricing", str(prefer_pricing))
    if days_per_week is not None and not 1 <= int(days_per_week) <= 7:
        raise SearchError("bad_days_per_week", str(days_per_week))
    if not 1 <= int(limit) <= MAX_LIMIT or int(offset) < 0:
        raise SearchError("bad_limit", f"{limit}/{offset}")
    if language is not None and not re.fullmatch(r"[a-z]{2,3}", language.lower()):
        raise SearchError("bad_language", str(language))
    age = None
    if child_birth_date is not None:
        if child_birth_date > start:
            raise SearchError("start_before_birth", child_birth_date.isoformat())
        age = age_in_months(child_birth_date, start)
    own, own_postcode = _area(postcode, municipality)
    if care_type == "occasionele_opvang":
        occasional = True
    if care_type == "dringende_opvang":
        urgent = True
    if income_related is not None and prefer_pricing is None:
        prefer_pricing = "income_related" if income_related else "free_price"

    kinds = ["occasional" if occasional else "regular"]
    window = WINDOW_DAYS if window_days is None else int(window_days)
    if urgent:
        kinds.append("urgent")
        window = min(window, URGENT_WINDOW_DAYS)
    area = "everywhere"
    params: dict[str, Any] = {}
    if own is not None:
        area = "municipalities"
        params["area"] = [own] + (geo.neighbours(own) if include_neighbours else [])
    elif postcode:
        area = "postcode"  # a valid postcode missing from our list: match it literally
        params["postcode"] = geo.clean_postcode(postcode)
    if care_type is not None:
        # an urgent need also sees dringende opvang, whatever kind of care it named
        params["care_types"] = [care_type] + (["dringende_opvang"] if urgent else [])
    # The week boundaries stay those of the full window (a narrower window filters the rows),
    # so that urgent and regular searches share one statement.
    weeks = math.ceil(max(window, WINDOW_DAYS) / WAIT_BUCKET_DAYS)
    params.update(
        start=start,
        last_start=start + timedelta(days=window),
        kinds=kinds,
        days=int(days_per_week or 0),
        age_low=-1 if age is None else age,
        age_high=10_000 if age is None else age,
        pricings=list(PRICINGS) if income_related is None else [
            "income_related" if income_related else "free_price"],
        own=own or "",
        own_postcode=own_postcode or "",
        prefer_pricing=prefer_pricing or "",
        miss_early=int(needs_early),
        miss_late=int(needs_late),
        miss_weekend=int(needs_weekend),
        miss_urgent=int(urgent),
        language_pattern=f"% {language.lower()} %" if language else "%",
        limit=int(limit),
        offset=int(offset),
        **{f"week_{n}": start + timedelta(days=WAIT_BUCKET_DAYS * (n + 1)) for n in range(weeks)},
    )
    statement = _statement(area, care_type is not None, bool(inclusive), weeks)
    rows = session.execute(statement, params).all()
    return [_result(row, start, own) for row in rows]


@lru_cache(maxsize=64)
def _statement(area: str, by_care_type: bool, inclusive: bool, weeks: int) -> Select:
    """The search statement of one shape, values as bound parameters.

    Built once per shape: SQLAlchemy then reuses its compiled form, and every optional filter
    that can be expressed as a neutral parameter value (no age, any pricing, no preference)
    is one, so that few shapes exist.
    """
    start = bindparam("start", type_=Date)
    conditions = [
        L.c.active.is_(True),
        A.c.kind.in_(bindparam("kinds", expanding=True)),
        A.c.places > 0,
        A.c.date_from <= bindparam("last_start", type_=Date),
        or_(A.c.date_to.is_(None), A.c.date_to >= start),
        A.c.days_count >= bindparam("days", type_=Integer),
        L.c.min_age_months <= bindparam("age_high", type_=Integer),
        L.c.max_age_months >= bindparam("age_low", type_=Integer),
        L.c.pricing.in_(bindparam("pricings", expanding=True)),
    ]
    if area == "municipalities":
        conditions.append(L.c.municipality.in_(bindparam("area", expanding=True)))
    elif area == "postcode":
        conditions.append(L.c.postcode == bindparam("postcode", type_=String))
    if by_care_type:
        conditions.append(L.c.care_type.in_(bindparam("care_types", expanding=True)))
    if inclusive:
        conditions.append(or_(L.c.inclusive.is_(True), L.c.care_type == "inclusieve_opvang"))

    effective_from = case((A.c.date_from <= start, start), else_=A.c.date_from)
    # Week n of waiting: a place from the start or within 6 days after it is week 0.
    wait_bucket = case(
        *[(A.c.date_from < bindparam(f"week_{n}", type_=Date), n) for n in range(weeks)],
        else_=weeks,
    )

    def miss(condition: Any, weight: Any = 1) -> Any:
        return case((condition, 0), else_=weight)

    # urgent: places kept for urgent needs first (a start within a month cannot wait)
    urgent_miss = miss(or_(A.c.kind == "urgent", L.c.care_type == "dringende_opvang"),
                       bindparam("miss_urgent", type_=Integer))
    distance = miss(L.c.municipality == bindparam("own", type_=String))
    pricing_miss = miss(L.c.pricing == bindparam("prefer_pricing", type_=String))
    hours_miss = (
        miss(L.c.opens_early.is_(True), bindparam("miss_early", type_=Integer))
        + miss(L.c.closes_late.is_(True), bindparam("miss_late", type_=Integer))
        + miss(L.c.weekend.is_(True), bindparam("miss_weekend", type_=Integer))
    )
    padded = literal(" ") + L.c.languages + literal(" ")
    language_miss = miss(padded.like(bindparam("language_pattern", type_=String)))
    same_postcode = miss(L.c.postcode == bindparam("own_postcode", type_=String))
    candidates = (
        select(
            A.c.location_id.label("location_id"),
            A.c.id.label("availability_id"),
            urgent_miss.label("urgent_miss"),
            distance.label("distance"),
            wait_bucket.label("wait_bucket"),
            pricing_miss.label("pricing_miss"),
            hours_miss.label("hours_miss"),
            language_miss.label("language_miss"),
            effective_from.label("effective_from"),
            A.c.places.label("places"),
            same_postcode.label("same_postcode"),
            func.row_number().over(
                partition_by=A.c.location_id,
                order_by=(effective_from, A.c.places.desc(), A.c.id),
            ).label("rn"),
        )
        .select_from(A.join(L, L.c.id == A.c.location_id))
        .where(and_(*conditions))
        .subquery("candidates")
    )

    def ranking(c: Any) -> list[Any]:
        return [c.urgent_miss, c.distance, c.wait_bucket, c.pricing_miss, c.hours_miss,
                c.language_miss,
                c.effective_from, c.places.desc(), c.same_postcode, c.location_id]

    c = candidates.c
    page = (
        select(c.location_id, c.availability_id, c.urgent_miss, c.distance, c.wait_bucket,
               c.pricing_miss,
               c.hours_miss, c.language_miss, c.effective_from, c.places, c.same_postcode)
        .where(c.rn == 1)
        .order_by(*ranking(c))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    return (
        select(
            L,
            A.c.id.label("availability_id"),
            A.c.date_from,
            A.c.date_to,
            A.c.weekdays,
            A.c.days_count,
            A.c.places.label("free_places"),
            A.c.kind,
            A.c.version,
            ORG.c.name.label("organisation"),
            page.c.distance,
        )
        .select_from(
            page.join(L, L.c.id == page.c.location_id)
            .join(A, A.c.id == page.c.availability_id)
            .outerjoin(ORG, ORG.c.id == L.c.organisation_id)
        )
        .order_by(*ranking(page.c))
    )


def _result(row: Any, start: date, own: str | None) -> dict[str, Any]:
    m = row._mapping
    available_from = max(m["date_from"], start)
    return {
        "id": m["id"],
        "ref": m["ref"],
        "name": m["name"],
        "organisation": m["organisation"],
        "care_type": m["care_type"],
        "pricing": m["pricing"],
        "address": m["address"],
        "postcode": m["postcode"],
        "municipality": m["municipality"],
        "phone": m["phone"],
        "email": m["email"],
        "free_places": m["free_places"],
        "available_from": available_from.isoformat(),
        "available_until": m["date_to"].isoformat() if m["date_to"] else None,
        "wait_days": (available_from - start).days,
        "kind": m["kind"],
        "weekdays": weekday_names(m["weekdays"]),
        "days_per_week": m["days_count"],
        "availability_id": m["availability_id"],
        "version": m["version"],
        "min_age_months": m["min_age_months"],
        "max_age_months": m["max_age_months"],
        "opening_hours": {day: m[f"hours_{day}"] for day in WEEKDAYS},
        "opens_early": bool(m["opens_early"]),
        "closes_late": bool(m["closes_late"]),
        "weekend": bool(m["weekend"]),
        "night": bool(m["night"]),
        "languages": m["languages"].split() if m["languages"] else [],
        "inclusive": bool(m["inclusive"]),
        "capacity": m["capacity"],
        "fictional": bool(m["fictional"]),
        "distance_rank": int(m["distance"]) if own else 0,
        "in_own_municipality": (m["municipality"] == own) if own else None,
    }
