"""Persona files (``personas/<lang>.yml``): loading, a strict check of the format, and the
matchers that compare what a persona expects with what the assistant stored."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot import i18n

PERSONA_DIR = Path(__file__).resolve().parent / "personas"
SPLITS = ("tune", "heldout")
ROLES = ("parent", "toeleider")
GOALS = ("find_place", "check_priority", "check_reduced_rate", "register")
# Request fields a persona may expect (bot/intake/dialogue.py FIELDS); consent answers are
# bookkeeping: never "misfiled", checked only when a persona lists them.
REQUEST_FIELDS = (
    "family_consent", "organisation", "toeleider_name", "toeleider_contact", "child_name",
    "child_birth", "start", "frequency", "reason", "location", "care_type", "allergies",
    "health", "home_languages", "comfort", "parent_name", "phone", "email",
)
BOOKKEEPING = frozenset({"consent", "family_consent", "confirm"})
FREQUENCIES = ("1", "2", "3", "4", "5", "occasional")
REASONS = ("work", "job_seeking", "training", "job_interview", "integration", "crisis_health",
           "development", "other")
CARE_TYPES = ("gezinsopvang", "groepsopvang", "no_preference")
_TOPIC = re.compile(r"[a-z][a-z0-9_]*")
_AGE_TOLERANCE = timedelta(days=31)


class PersonaError(ValueError):
    """A persona file that does not follow the format."""


@dataclass(frozen=True)
class Persona:
    id: str
    lang: str
    today: date
    split: str
    role: str
    about: str
    open: tuple[str, ...]
    said_up_front: frozenset[str]
    goals: tuple[dict[str, str], ...]
    knows: Mapping[str, tuple[str, ...]]
    script: Mapping[str, str]  # topic -> what is said instead of the first answer
    expect: Mapping[str, Any] = field(default_factory=dict)

    @property
    def request(self) -> Mapping[str, Any]:
        return self.expect.get("request") or {}

    @property
    def eligibility(self) -> Mapping[str, Any]:
        return self.expect.get("eligibility") or {}


def _fail(where: str, problem: str) -> PersonaError:
    return PersonaError(f"{where}: {problem}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(
            isinstance(v, (str, int)) and str(v).strip() for v in value):
        raise _fail(where, "must be a non-empty list of texts")
    return tuple(str(v) for v in value)


def _iso(value: Any, where: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError as err:
        raise _fail(where, f"{value!r} is not an ISO date") from err


def _check_expected(name: str, value: Any, where: str) -> None:
    """An expected request value must be one the matchers understand."""
    if value is None:
        return
    if isinstance(value, dict):
        keys = set(value)
        if keys <= {"contains", "not_contains"} and keys:
            for k in keys:
                _strings(value[k], f"{where}.{k}")
        elif keys == {"age_months"} and name == "child_birth":
            if not isinstance(value["age_months"], int) or value["age_months"] < 0:
                raise _fail(where, "age_months must be a whole number")
        elif keys == {"between"} and name in ("child_birth", "start"):
            low, high = (_iso(v, where) for v in value["between"])
            if low > high:
                raise _fail(where, "between: the first date must come first")
        else:
            raise _fail(where, f"unknown matcher {sorted(keys)}")
        return
    if name in ("child_birth", "start"):
        _iso(value, where)
    elif name == "frequency" and str(value) not in FREQUENCIES:
        raise _fail(where, f"frequency must be one of {FREQUENCIES}")
    elif name == "reason":
        reasons = value if isinstance(value, list) else [value]
        if not reasons or any(r not in REASONS for r in reasons):
            raise _fail(where, f"reasons must come from {REASONS}")
    elif name == "care_type" and value not in CARE_TYPES:
        raise _fail(where, f"care_type must be one of {CARE_TYPES}")
    elif name == "family_consent" and not isinstance(value, bool):
        raise _fail(where, "family_consent must be true or false")


def _persona(raw: Mapping[str, Any], lang: str, today: date, where: str) -> Persona:
    if not isinstance(raw, dict):
        raise _fail(where, "a persona must be a mapping")
    pid = str(raw.get("id") or "")
    where = f"{where} {pid or '?'}"
    if not re.fullmatch(rf"{lang}-\d+", pid):
        raise _fail(where, f"id must look like {lang}-01")
    for key in ("split", "role", "open", "goals", "knows", "expect"):
        if key not in raw:
            raise _fail(where, f"missing {key!r}")
    if raw["split"] not in SPLITS:
        raise _fail(where, f"split must be one of {SPLITS}")
    if raw["role"] not in ROLES:
        raise _fail(where, f"role must be one of {ROLES}")
    goals = raw["goals"]
    if not isinstance(goals, list) or not goals:
        raise _fail(where, "goals must be a non-empty list")
    for goal in goals:
        if not isinstance(goal, dict) or goal.get("do") not in GOALS or not set(goal) <= {
                "do", "say"}:
            raise _fail(where, f"goal {goal!r}: use {{do: {'|'.join(GOALS)}, say: ...}}")
    knows = raw["knows"]
    if not isinstance(knows, dict):
        raise _fail(where, "knows must map topics to answers")
    for topic in [*knows, *(raw.get("said_up_front") or [])]:
        if not _TOPIC.fullmatch(str(topic)):
            raise _fail(where, f"bad topic name {topic!r}")
    script: dict[str, str] = {}
    for entry in raw.get("script") or []:
        if not isinstance(entry, dict) or set(entry) != {"when_asked", "first_say"}:
            raise _fail(where, f"script entry {entry!r}: use {{when_asked, first_say}}")
        script[str(entry["when_asked"])] = str(entry["first_say"])
    expect = raw["expect"]
    if not isinstance(expect, dict) or expect.get("role") != raw["role"] or expect.get(
            "language") != lang:
        raise _fail(where, "expect must repeat the persona's role and language")
    request = expect.get("request") or {}
    for name, value in request.items():
        if name not in REQUEST_FIELDS and name != "consent":
            raise _fail(where, f"unknown request field {name!r}")
        _check_expected(name, value, f"{where} expect.request.{name}")
    for check, spec in (expect.get("eligibility") or {}).items():
        allowed = {"priority": {"applicable", "absolute", "groups_include"},
                   "reduced_rate": {"applicable", "routes_include"}}.get(check)
        if allowed is None or not isinstance(spec, dict) or not set(spec) <= allowed:
            raise _fail(where, f"eligibility.{check}: allowed {sorted(allowed or [])}")
    return Persona(
        id=pid, lang=lang, today=today, split=raw["split"], role=raw["role"],
        about=str(raw.get("about") or ""), open=_strings(raw["open"], f"{where} open"),
        said_up_front=frozenset(raw.get("said_up_front") or ()),
        goals=tuple({k: str(v) for k, v in g.items()} for g in goals),
        knows={str(t): _strings(v, f"{where} knows.{t}") for t, v in knows.items()},
        script=script, expect=expect)


def load_file(path: Path) -> list[Persona]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lang = data.get("language")
    if lang not in i18n.SUPPORTED or path.stem != lang:
        raise _fail(str(path), f"language {lang!r} must be supported and match the file name")
    today = _iso(data.get("today"), f"{path} today")
    personas = [_persona(raw, lang, today, str(path.name)) for raw in data.get("personas") or []]
    ids = [p.id for p in personas]
    if len(set(ids)) != len(ids):
        raise _fail(str(path), "persona ids must be unique")
    return personas


def load(langs: list[str] | None = None, directory: Path = PERSONA_DIR) -> list[Persona]:
    """Every persona of the requested languages (all files present when None)."""
    out: list[Persona] = []
    for path in sorted(directory.glob("*.yml")):
        if langs is None or path.stem in langs:
            out += load_file(path)
    return out


# --- matching what was stored ---------------------------------------------------------------

def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _fold(text: Any) -> str:
    from bot.textnorm import fold  # case and accents, as the assistant folds them

    return fold(" ".join(str(text).split()))


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _minus_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def matches(name: str, expected: Any, stored: Any, today: date) -> bool:
    """Whether a stored request value is what the persona expects (see the persona format)."""
    if expected is None:
        return empty(stored)
    if empty(stored):
        return False
    if isinstance(expected, dict):
        if "age_months" in expected:
            born = _as_date(stored)
            target = _minus_months(today, int(expected["age_months"]))
            return born is not None and abs(born - target) <= _AGE_TOLERANCE
        if "between" in expected:
            day = _as_date(stored)
            low, high = (_iso(v, name) for v in expected["between"])
            return day is not None and low <= day <= high
        text = _fold(stored if isinstance(stored, str) else json.dumps(stored,
                                                                        ensure_ascii=False))
        return all(_fold(s) in text for s in expected.get("contains") or []) and not any(
            _fold(s) in text for s in expected.get("not_contains") or [])
    if isinstance(expected, bool):
        return stored is expected
    if name == "reason" or isinstance(expected, list):
        want = set(expected) if isinstance(expected, list) else {expected}
        got = set(stored) if isinstance(stored, (list, tuple, set)) else {stored}
        return {str(v) for v in want} == {str(v) for v in got}
    if name in ("child_birth", "start"):
        return _as_date(stored) == _iso(expected, name)
    if name == "location" and isinstance(stored, Mapping):
        want = str(expected).strip().casefold()
        return want in (str(stored.get("municipality") or "").casefold(),
                        str(stored.get("postcode") or "").casefold())
    return str(stored).strip().casefold() == str(expected).strip().casefold()


@dataclass
class RequestCheck:
    expected: int = 0
    right: int = 0
    wrong: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (want, got)
    misfiled: dict[str, Any] = field(default_factory=dict)  # filled but not expected


def check_request(persona: Persona, stored: Mapping[str, Any]) -> RequestCheck:
    out = RequestCheck()
    for name, want in persona.request.items():
        out.expected += 1
        got = stored.get(name)
        if matches(name, want, got, persona.today):
            out.right += 1
        else:
            out.wrong[name] = (want, got)
    for name, got in stored.items():
        if name not in persona.request and name not in BOOKKEEPING \
                and not name.startswith("_") and not empty(got):
            out.misfiled[name] = got
    return out


def check_eligibility(persona: Persona, result: Mapping[str, Any]) -> list[str]:
    """Problems with the eligibility outcome (empty: as expected)."""
    problems: list[str] = []
    for check, spec in persona.eligibility.items():
        got = result.get(check) or {}
        for key, want in spec.items():
            if key in ("applicable", "absolute"):
                if got.get(key) != want:
                    problems.append(f"{check}.{key}: expected {want}, got {got.get(key)}")
            else:
                listed = set(got.get("groups" if check == "priority" else "routes") or [])
                missing = set(want) - listed
                if missing:
                    problems.append(f"{check}: {sorted(missing)} not in {sorted(listed)}")
    return problems
