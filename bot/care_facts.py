"""Dated facts about the care types (``data/care_types.yml``): which value holds on a date.

Like the eligibility rules, every value carries the date it starts and its source, so that a
change in the law (the kindratio of 1 January 2027) is a data edit. Loading checks the file
strictly and names the place of a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import dated
from bot.settings import DATA_DIR

CARE_FACTS_FILE = DATA_DIR / "care_types.yml"


class CareFactsError(Exception):
    """data/care_types.yml is malformed (a bug in the data)."""


@dataclass(frozen=True)
class Dated:
    """One value of a fact from ``valid_from`` on, with its source."""

    valid_from: date
    value: Any
    source: str
    source_date: date | None = None


@dataclass(frozen=True)
class Holding:
    """What holds on a date, and the next change when the data knows one."""

    current: Dated
    next: Dated | None


def _entry(node: Any, where: str) -> Dated:
    if not isinstance(node, dict):
        raise CareFactsError(f"{where}: an entry must be a mapping")
    valid_from, source = node.get("valid_from"), node.get("source")
    if not isinstance(valid_from, date):
        raise CareFactsError(f"{where}: valid_from must be a date")
    for url in [source, *(node.get("other_sources") or [])]:
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise CareFactsError(f"{where}: every source must be a URL")
    if "value" not in node:
        raise CareFactsError(f"{where}: no value")
    source_date = node.get("source_date")
    if source_date is not None and not isinstance(source_date, date):
        raise CareFactsError(f"{where}: source_date must be a date")
    return Dated(valid_from, node["value"], source, source_date)


@lru_cache(maxsize=4)
def load(path: Path = CARE_FACTS_FILE) -> dict[str, dict[str, tuple[Dated, ...]]]:
    """care type -> fact -> its dated values in date order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, dict[str, tuple[Dated, ...]]] = {}
    for care_type, facts in (data.get("care_types") or {}).items():
        out[care_type] = {}
        for fact, entries in (facts or {}).items():
            out[care_type][fact] = dated.series(entries, _entry,
                                                 f"{path.name}: {care_type}.{fact}",
                                                 CareFactsError)
    return out


def holding(care_type: str, fact: str, on: date, *, path: Path = CARE_FACTS_FILE
            ) -> Holding | None:
    """The value of ``fact`` for ``care_type`` in force on ``on`` (None before the first)."""
    current, upcoming = dated.in_force(load(path).get(care_type, {}).get(fact, ()), on)
    return Holding(current, upcoming) if current is not None else None


def facts_of(care_type: str, *, path: Path = CARE_FACTS_FILE) -> tuple[str, ...]:
    """The dated facts the data has for a care type, in file order."""
    return tuple(load(path).get(care_type, {}))
