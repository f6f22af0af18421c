"""Dated values in the data files: a series of entries, each in force from its ``valid_from``
on, and the one in force on a day (care-type facts, house rules)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol, TypeVar


class Dated(Protocol):
    valid_from: date


T = TypeVar("T", bound=Dated)


def series(entries: Any, parse: Callable[[Any, str], T], where: str,
           error: type[Exception]) -> tuple[T, ...]:
    """The parsed entries of a non-empty list, checked to be in date order without a repeated
    date; ``error`` names what is wrong and where."""
    if not isinstance(entries, list) or not entries:
        raise error(f"{where}: a list of dated entries is needed")
    parsed = tuple(parse(entry, f"{where}[{i}]") for i, entry in enumerate(entries))
    starts = [entry.valid_from for entry in parsed]
    if starts != sorted(set(starts)):
        raise error(f"{where}: entries must be in date order, no repeated date")
    return parsed


def in_force(entries: Sequence[T], on: date) -> tuple[T | None, T | None]:
    """The entry in force on ``on`` (None before the first) and the next one after it."""
    current: T | None = None
    for entry in entries:
        if entry.valid_from > on:
            return current, entry
        current = entry
    return current, None
