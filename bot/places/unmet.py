"""Unmet needs: what a family looked for and did not find, so the gaps become visible.

The conversation calls ``record_unmet_need`` after a search with no (or too few) results and
the family's consent to register it. Only the shape of the need is kept, never who asked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.places import geo
from bot.places.models import CARE_TYPES, UnmetNeed
from bot.places.search import age_in_months


def record_unmet_need(
    session: Session | None = None,
    *,
    care_type: str | None = None,
    postcode: str | None = None,
    municipality: str | None = None,
    start: date | None = None,
    child_birth_date: date | None = None,
    child_age_months: int | None = None,
    days_per_week: int | None = None,
    occasional: bool = False,
    urgent: bool = False,
    income_related: bool | None = None,
    results: int = 0,
    language: str | None = None,
    source: str = "bot",
    url: str | None = None,
) -> int:
    """Store one unmet need and return its id.

    Without ``session`` it opens (and commits) its own. The municipality is normalised through
    geo (a postcode alone is enough); a birth date is reduced to the age in months on ``start``
    (or today) and not stored.
    """
    if care_type is not None and care_type not in CARE_TYPES:
        care_type = None  # an unknown type is no reason to lose the need itself
    place = geo.resolve_location(municipality or postcode) if (municipality or postcode) else None
    if place is not None:
        municipality = place.municipality or municipality
        postcode = postcode or (place.postcode if place.how == "postcode" else None)
    if child_age_months is None and child_birth_date is not None:
        on = start or date.today()
        child_age_months = max(age_in_months(child_birth_date, on), 0)
    need = UnmetNeed(
        care_type=care_type,
        occasional=bool(occasional),
        urgent=bool(urgent),
        income_related=income_related,
        postcode=(str(postcode)[:4] if postcode else None),
        municipality=municipality[:80] if municipality else None,
        wanted_from=start,
        days_per_week=days_per_week,
        child_age_months=child_age_months,
        results=results,
        language=language[:8] if language else None,
        source=source,
    )
    if session is not None:
        session.add(need)
        session.flush()
        return need.id
    with session_scope(url) as own:
        own.add(need)
        own.flush()
        return need.id


def unmet_summary(session: Session, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Counts per municipality and care type (most first), for the loket's reporting."""
    query = select(
        UnmetNeed.municipality,
        UnmetNeed.care_type,
        func.count().label("needs"),
        func.sum(case((UnmetNeed.urgent.is_(True), 1), else_=0)).label("urgent"),
        func.min(UnmetNeed.created_at).label("first"),
        func.max(UnmetNeed.created_at).label("last"),
    ).group_by(UnmetNeed.municipality, UnmetNeed.care_type)
    if since is not None:
        query = query.where(UnmetNeed.created_at >= since)
    rows = session.execute(query.order_by(func.count().desc(), UnmetNeed.municipality)).all()
    return [
        {
            "municipality": row.municipality,
            "care_type": row.care_type,
            "needs": row.needs,
            "urgent": int(row.urgent or 0),
            "first": row.first.isoformat(timespec="seconds") if row.first else None,
            "last": row.last.isoformat(timespec="seconds") if row.last else None,
        }
        for row in rows
    ]
