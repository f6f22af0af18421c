"""Synthetic data: the demo region (data/places/demo.csv) and large generated regions.

Generated locations have refs ``gen-000001``…, ``fictional`` true and names marked
"(fictief, synthetisch)"; generating again replaces them (the demo and imported locations stay).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from bot import settings
from bot.places import geo
from bot.places.csv_io import ImportResult, import_csv
from bot.places.models import (
    Availability,
    CareLocation,
    Organisation,
    utcnow,
    weekday_count,
)

DEMO_CSV = settings.DATA_DIR / "places" / "demo.csv"
GENERATED_PREFIX = "gen-"
ORGANISATION_PATTERN = "Synthetische organisator %"

# Centre cities (centrumsteden) and Brussels get more locations than their postcodes suggest.
CENTRE_CITIES = {"Aalst", "Antwerpen", "Brugge", "Genk", "Gent", "Hasselt", "Kortrijk",
                 "Leuven", "Mechelen", "Oostende", "Roeselare", "Sint-Niklaas", "Turnhout",
                 "Brussel"}
CARE_TYPE_WEIGHTS = {
    "gezinsopvang": 45, "groepsopvang": 38, "occasionele_opvang": 3, "flexibele_opvang": 4,
    "dringende_opvang": 2, "inclusieve_opvang": 3, "buitenschoolse_opvang": 5,
}
WEEKDAY_PATTERNS = [(0b0011111, 10), (0b0001111, 4), (0b0011011, 2), (0b0000111, 2),
                    (0b0011100, 2), (0b0000011, 1)]
EXTRA_LANGUAGES = ["fr", "en", "ar", "tr", "uk", "pl", "ro", "so", "fa"]
STREETS = ["Synthetische straat", "Generatorlaan", "Willekeurige dreef", "Proefplein"]


def load_demo(session: Session, *, today: date | None = None) -> ImportResult:
    """Load (or refresh) the demo region; relative dates in the CSV count from ``today``.

    Idempotent: locations are matched on their ref, so loading twice changes nothing, and
    loading on a later day moves the availability along with the calendar.
    """
    result = import_csv(session, DEMO_CSV, today=today)
    analyze(session)
    return result


def analyze(session: Session) -> None:
    """Refresh the planner statistics, so that the search indexes are chosen after bulk loads."""
    session.flush()
    session.execute(text("ANALYZE"))


def _weighted(rng: random.Random, items: list[tuple[Any, int]]) -> Any:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items], k=1)[0]


def _hours(rng: random.Random, care_type: str) -> dict[str, Any]:
    if care_type == "flexibele_opvang":
        day = rng.choice(["05:30-21:00", "06:00-22:00", "06:00-20:00"])
        weekend = rng.random() < 0.6
        return {**{f"hours_{d}": day for d in ("mon", "tue", "wed", "thu", "fri")},
                "hours_sat": "07:00-19:00" if weekend else None,
                "hours_sun": "08:00-18:00" if weekend and rng.random() < 0.5 else None,
                "opens_early": True, "closes_late": True, "weekend": weekend,
                "night": False}
    day = rng.choice(["07:00-18:00", "07:00-18:30", "06:30-18:30", "07:30-17:30",
                      "07:00-19:00", "08:00-17:00"])
    days = ("mon", "tue", "wed", "thu") if rng.random() < 0.15 else (
        "mon", "tue", "wed", "thu", "fri")
    return {
        **{f"hours_{d}": (day if d in days else None)
           for d in ("mon", "tue", "wed", "thu", "fri")},
        "hours_sat": None, "hours_sun": None,
        "opens_early": day[:5] < "07:00", "closes_late": day[6:] > "18:30",
        "weekend": False, "night": False,
    }


def _slots(rng: random.Random, care_type: str, today: date) -> list[dict[str, Any]]:
    """About a year of availability of one location."""
    slots = []
    kind = "occasional" if care_type == "occasionele_opvang" else "regular"
    for _ in range(rng.choice([1, 2, 3, 3, 4, 5])):
        start = today + timedelta(days=rng.randint(-30, 365))
        end = None if rng.random() < 0.4 else start + timedelta(days=rng.randint(14, 200))
        mask = 0b1111111 if care_type == "flexibele_opvang" and rng.random() < 0.5 else (
            _weighted(rng, WEEKDAY_PATTERNS))
        slots.append({"date_from": start, "date_to": end, "weekdays": mask,
                      "places": rng.choice([0, 1, 1, 1, 2, 2, 3, 4]), "kind": kind})
    if care_type == "dringende_opvang" or (care_type == "groepsopvang" and rng.random() < 0.1):
        start = today + timedelta(days=rng.randint(-10, 300))
        slots.append({"date_from": start, "date_to": start + timedelta(days=rng.randint(14, 60)),
                      "weekdays": 0b0011111, "places": rng.choice([1, 1, 2]), "kind": "urgent"})
    if care_type == "groepsopvang" and rng.random() < 0.15:
        start = today + timedelta(days=rng.randint(-10, 330))
        slots.append({"date_from": start, "date_to": start + timedelta(days=rng.randint(7, 90)),
                      "weekdays": 0b0011111, "places": rng.choice([1, 2]), "kind": "occasional"})
    return slots


def generate(
    session: Session, *, locations: int, seed: int = 1, today: date | None = None
) -> dict[str, int]:
    """Replace the generated region with ``locations`` new ones and a year of availability."""
    if locations < 0:
        raise ValueError("locations must be >= 0")
    rng = random.Random(seed)
    today = today or date.today()
    now = utcnow()
    clear_generated(session)
    municipalities = [
        (name, len(geo.postcodes_of(name)) * (3 if name in CENTRE_CITIES else 1))
        for name in geo.municipalities()
    ]
    names = [m for m, _ in municipalities]
    weights = [w for _, w in municipalities]
    care_types = list(CARE_TYPE_WEIGHTS)
    organisation_count = max(1, locations // 25)
    organisations = [
        {"name": f"Synthetische organisator {i + 1} (fictief)", "fictional": True,
         "created_at": now}
        for i in range(organisation_count)
    ] if locations else []
    if organisations:
        session.execute(insert(Organisation), organisations)
        org_ids = list(session.execute(
            select(Organisation.id).where(Organisation.name.like(ORGANISATION_PATTERN))
        ).scalars())
    else:
        org_ids = []
    rows = []
    for i in range(locations):
        care_type = rng.choices(care_types, weights=list(CARE_TYPE_WEIGHTS.values()), k=1)[0]
        municipality = rng.choices(names, weights=weights, k=1)[0]
        postcode = rng.choice(geo.postcodes_of(municipality))
        family = care_type == "gezinsopvang"
        ages = (30, 144) if care_type == "buitenschoolse_opvang" else (
            0, rng.choice([36, 36, 36, 48]))
        extra = rng.sample(EXTRA_LANGUAGES, k=rng.choice([0, 0, 1, 1, 2, 3]))
        rows.append({
            "ref": f"{GENERATED_PREFIX}{i + 1:06d}",
            "organisation_id": None if family or not org_ids else rng.choice(org_ids),
            "name": f"Synthetische {care_type.replace('_', ' ')} {i + 1} (fictief, synthetisch)",
            "care_type": care_type,
            "pricing": "income_related" if rng.random() < 0.85 else "free_price",
            "address": f"{rng.choice(STREETS)} {rng.randint(1, 250)}",
            "postcode": postcode,
            "municipality": municipality,
            "phone": f"+32 00 {i // 10000:02d} {i % 10000:04d}",
            "email": f"gen{i + 1}@example.org",
            **_hours(rng, care_type),
            "languages": " ".join(["nl", *extra]),
            "inclusive": care_type == "inclusieve_opvang" or rng.random() < 0.05,
            "min_age_months": ages[0],
            "max_age_months": ages[1],
            "capacity": rng.randint(1, 8) if family else rng.randint(9, 90),
            "fictional": True,
            "active": True,
            "created_at": now,
            "updated_at": now,
        })
    slots_total = 0
    batch = 2000
    for chunk in range(0, len(rows), batch):
        part = rows[chunk:chunk + batch]
        session.execute(insert(CareLocation), part)
        ids = dict(session.execute(
            select(CareLocation.ref, CareLocation.id).where(
                CareLocation.ref.in_([r["ref"] for r in part]))
        ).all())
        slots = []
        for row in part:
            for slot in _slots(rng, row["care_type"], today):
                slots.append({**slot, "location_id": ids[row["ref"]],
                              "days_count": weekday_count(slot["weekdays"]), "version": 1,
                              "updated_by": "generator", "updated_at": now})
        if slots:
            session.execute(insert(Availability), slots)
        slots_total += len(slots)
    analyze(session)
    return {"locations": locations, "availability": slots_total,
            "organisations": len(organisations)}


def clear_generated(session: Session) -> None:
    generated = select(CareLocation.id).where(CareLocation.ref.like(f"{GENERATED_PREFIX}%"))
    session.execute(delete(Availability).where(Availability.location_id.in_(generated)),
                    execution_options={"synchronize_session": False})
    session.execute(delete(CareLocation).where(CareLocation.ref.like(f"{GENERATED_PREFIX}%")),
                    execution_options={"synchronize_session": False})
    session.execute(delete(Organisation).where(Organisation.name.like(ORGANISATION_PATTERN)),
                    execution_options={"synchronize_session": False})
