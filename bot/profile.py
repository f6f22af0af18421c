"""What the conversation knows about the family's need, shared by the three dialogues.

A fact said once, in any dialogue or outside one, is kept and not asked again: the free-place
search keeps its fields in the ``place_search`` slot, the eligibility check its facts (contract
names) in ``facts``, and the rest (reasons for care, a professional's organisation) in
``said``. The snelfiche starts from all three (after consent, in the draft request).
Names, health and contact details are never kept here: only the snelfiche stores those, and
only after consent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.nlu.said import INTAKE_CARE_TYPES, WORK_SITUATION, Fact, refines, work_situation

# snelfiche field -> place_search key
SEARCH_KEYS = {"child_birth": "child", "frequency": "days", "location": "location",
               "start": "start", "care_type": "care_type", "urgent": "urgent"}
ELIGIBILITY_KEYS = ("work_situation", "single_parent", "care_pricing")
SAID_KEYS = ("reason", "organisation")
APPROX_BIRTH = "child_birth_approx"  # in ``said``: the known birth date came from an age or a month
APPROX_START = "start_approx"  # in ``said``: the known start was a month said in passing
# in ``said``: the work situation the check knows is the partner's ("my husband works"), so it
# is no reason why this parent needs care
PARTNER_WORK = "work_situation_partner"


@dataclass
class Profile:
    place_search: dict[str, Any]
    facts: dict[str, Any]
    said: dict[str, Any]

    @classmethod
    def of(cls, place_search: Mapping[str, Any] | None, facts: Mapping[str, Any] | None,
           said: Mapping[str, Any] | None) -> Profile:
        return cls(dict(place_search or {}), dict(facts or {}), dict(said or {}))

    def get(self, field: str) -> Any:
        """A snelfiche field's value as far as the conversation knows it."""
        if field in SEARCH_KEYS:
            value = self.place_search.get(SEARCH_KEYS[field])
            if field == "frequency" and value is not None:
                return str(value)
            if field == "care_type" and value not in (*INTAKE_CARE_TYPES, "no_preference"):
                return None
            return value
        if field in ELIGIBILITY_KEYS:
            return self.facts.get(field)
        return self.said.get(field)

    def absorb(self, facts: Iterable[Fact], overwrite: Iterable[str] = (),
               add_reasons: bool = True) -> bool:
        """Keep what the message made clear; fill only what is unknown, except the fields in
        ``overwrite`` (a correction). Reasons said on their own add up ("work", later "and
        Dutch lessons"); ``add_reasons`` False: a reason mentioned in an answer to another
        question only fills an empty one ("kurs 11 ocakta başlıyor" adds no training).
        True when anything changed."""
        changed = False
        replace = set(overwrite)
        for fact in facts:
            if fact.field == "reason" and not add_reasons and self.said.get("reason") \
                    and fact.field not in replace:
                continue
            if fact.field == "child_birth":
                changed |= self._birth(fact, fact.field in replace)
                continue
            if fact.field == "start":
                changed |= self._start(fact, fact.field in replace)
                continue
            changed |= self._set(fact.field, fact.value, fact.field in replace)
        return changed

    def _birth(self, fact: Fact, replace: bool) -> bool:
        """A birth date said exactly replaces one only as near as an age or a month."""
        approx_known = bool(self.said.get(APPROX_BIRTH))
        if not fact.approx and (approx_known or refines(fact, self.get("child_birth"))):
            self.said.pop(APPROX_BIRTH, None)
            self._set("child_birth", fact.value, True)
            return True
        changed = self._set("child_birth", fact.value, replace)
        if changed and fact.approx:
            self.said[APPROX_BIRTH] = True
        elif changed and approx_known:
            self.said.pop(APPROX_BIRTH, None)
        return changed

    def _start(self, fact: Fact, replace: bool) -> bool:
        """A start said with its day replaces a month said in passing; the snelfiche asks
        the day of a start known only as a month."""
        approx_known = bool(self.said.get(APPROX_START))
        changed = self._set("start", fact.value, replace or (approx_known and not fact.approx))
        if changed:
            if fact.approx:
                self.said[APPROX_START] = True
            else:
                self.said.pop(APPROX_START, None)
        return changed

    def _set(self, field: str, value: Any, replace: bool) -> bool:
        if field in SEARCH_KEYS:
            store, key = self.place_search, SEARCH_KEYS[field]
            if field == "frequency":
                if str(value).isdigit():
                    value = int(value)
                elif value != "occasional":
                    return False
        elif field in ELIGIBILITY_KEYS:
            store, key = self.facts, field
        elif field in SAID_KEYS:
            store, key = self.said, field
            if field == "reason":
                # several reasons add up ("work" then "Dutch lessons"), unless corrected
                merged = list(value) if replace else list(dict.fromkeys(
                    [*(self.said.get("reason") or []), *value]))
                if merged == self.said.get("reason"):
                    return False
                self.said["reason"] = merged
                situation = work_situation(merged)
                if situation and (replace or _ranks_before(situation,
                                                           self.facts.get("work_situation"))):
                    self.facts["work_situation"] = situation
                return True
        else:
            return False
        if store.get(key) == value or (key in store and store[key] is not None
                                       and not replace):
            return False
        store[key] = value
        return True

    def intake_prefill(self) -> dict[str, Any]:
        """Snelfiche answers the conversation already has."""
        out: dict[str, Any] = {}
        for field in ("child_birth", "start", "frequency", "location", "care_type", "reason",
                      "organisation"):
            if field == "child_birth" and self.said.get(APPROX_BIRTH):
                continue  # "she is 2": the snelfiche asks for the date
            if field == "start" and self.said.get(APPROX_START):
                continue  # "she starts work in January": the snelfiche asks from which day
            value = self.get(field)
            if value not in (None, [], ""):
                out[field] = value
        if "reason" not in out and not self.said.get(PARTNER_WORK):
            from_work = {situation: reason for reason, situation in WORK_SITUATION}.get(
                str(self.facts.get("work_situation")))
            if from_work:
                out["reason"] = [from_work]
        return out


_PRIORITY_ORDER = ("working", "job_seeking", "vocational_training", "integration_course")


def _ranks_before(situation: str, current: Any) -> bool:
    """Whether a situation derived from the reasons says more than the one known: any beats
    none known; "working" beats "integration_course"; a "none" someone answered stays."""
    if current is None:
        return True
    if current not in _PRIORITY_ORDER:
        return False
    return _PRIORITY_ORDER.index(situation) < _PRIORITY_ORDER.index(current)
