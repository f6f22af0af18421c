"""Every text of the staff interface exists in Dutch and English with the same placeholders;
every key the inbox uses exists; the family-facing texts it needs exist in all six languages."""

from __future__ import annotations

import re

import pytest

from bot import i18n
from bot.handoff import OUTCOMES, Handoff
from bot.inbox import texts, views
from bot.inbox.admin import PERIOD_ERRORS
from bot.inbox.auth import ROLES
from bot.inbox.report import DIMENSIONS
from bot.inbox.webchat import TEXT_KEYS
from bot.intake.dialogue import BY_NAME
from bot.intake.models import STATUSES
from bot.places.models import CARE_TYPES, KINDS, WEEKDAYS
from bot.settings import ROOT

NL = texts.catalog("nl")


def test_staff_languages_have_the_same_keys_and_placeholders() -> None:
    en = texts.catalog("en")
    assert set(NL) == set(en), set(NL) ^ set(en)
    for key, text in NL.items():
        assert text.strip() and en[key].strip(), key
        assert i18n.placeholders(text) == i18n.placeholders(en[key]), key


def test_every_literal_key_used_in_the_inbox_exists() -> None:
    pattern = re.compile(r"""\bst\(\s*["']([a-z_.0-9]*[a-z_0-9])["']""")
    # templates call t('key') (bot/inbox/views.py context); t('prefix.' ~ value) is built
    in_templates = re.compile(r"""\bt\(\s*["']([a-z_.0-9]*[a-z_0-9])["'](?!\s*~)""")
    used = set()
    for path in (ROOT / "bot" / "inbox").rglob("*.py"):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    for path in (ROOT / "bot" / "inbox" / "templates").rglob("*.html"):
        used |= set(in_templates.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 100
    assert not sorted(k for k in used if k not in NL)


@pytest.mark.parametrize(("prefix", "values"), [
    ("outcome", OUTCOMES), ("request_status", STATUSES), ("role", ROLES),
    ("handoff_status", ("waiting", "claimed", "handed_back", "closed")),
    ("canned", views.CANNED), ("flash", tuple(views.FLASH)), ("places.kind", KINDS),
    ("care_type", (*CARE_TYPES, "no_preference")), ("report.dim", DIMENSIONS),
    ("report.by", DIMENSIONS), ("age", ("unborn", "0_11", "12_23", "24_35", "36_plus")),
    ("request_reason", BY_NAME["reason"].values), ("reason", ("request", "crisis")),
    ("places_period.day", WEEKDAYS), ("places_period.error", PERIOD_ERRORS),
    ("login", ("bad", "locked")), ("denied", ("login", "csrf", "role")),
    ("requester", ("parent", "toeleider")), ("queue.col", ("sender", "priority")),
    ("account", ("password_short", "username_invalid", "username_taken", "role_invalid")),
])
def test_keys_built_from_values_exist(prefix: str, values: tuple[str, ...]) -> None:
    assert not [v for v in values if f"{prefix}.{v}" not in NL]


def test_handoff_statuses_are_known() -> None:
    assert Handoff.status.type.length >= max(len(s) for s in ("handed_back", "claimed"))


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_family_texts_of_the_inbox_exist_in_every_language(lang: str) -> None:
    """webchat.*, canned.* and request_update.* live in locales/<lang>.yml (family-facing)."""
    catalog = i18n.catalog(lang)
    needed = ([f"webchat.{k}" for k in TEXT_KEYS] + [f"canned.{k}" for k in views.CANNED]
              + [f"request_update.{s}" for s in STATUSES if s != "draft"] + ["handoff.back"])
    assert not [k for k in needed if not catalog.get(k, "").strip()]
    for status in STATUSES[1:]:
        assert i18n.placeholders(catalog[f"request_update.{status}"]) == {"reference"}
