"""Every family text fits three SMS segments in its language's encoding (issue 16 item 7).

Counted with the SMS channel's own counter (connectors/sms.py: GSM-7 153 per concatenated
segment, UCS-2 67, after the same look-alike replacement the channel does). A text with
placeholders is measured with realistic values: the demo loket's contact data, the longest
dated facts and figure notes the code puts in, a long reference and place name. The snelfiche
summary, whose length depends on the answers, is sent in parts that each fit.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot import care_info, house_rules, i18n, loket
from bot.eligibility import dialogue as eligibility
from bot.eligibility.dialogue import figure_note, money
from bot.intake import dialogue
from bot.replies import phone_parts
from bot.settings import TZ
from connectors import sms

LIMIT = sms.DEFAULT_MAX_SEGMENTS
# before Christmas 2026: the care-type facts say the 2026 value and the 2027 one (longest)
ON = date(2026, 12, 1)
# texts no family reads by SMS: the terminal chat's banner (a person at the loket's computer)
NOT_FOR_FAMILIES = ("terminal_chat.",)
# the contact block (name, address, hours: data of the loket) goes in parts cut between lines
# when it is longer (bot/loket.py contact_reply): measured as sent, in test_composed_replies_fit
SENT_IN_PARTS = ("loket.contact",)


def segments(text: str) -> int:
    return sms.segments(sms.gsm_friendly(text))


def samples(lang: str) -> dict[str, str]:
    """Realistic values for every placeholder, in ``lang``, as long as they get in practice."""
    desk = loket.load()
    when = i18n.t("loket.moment", lang, weekday=i18n.t("weekday.wed", lang),
                  date=i18n.t("format.date", lang, d=30, m=12, y=2026), time="13:30")
    a_date = i18n.t("format.date", lang, d=28, m=12, y=2026)
    groups = [i18n.t(f"eligibility.group.{g}", lang) for g in ("work", "single_parent")]
    tariff = {"valid_from": "2024-01-01", "source": "https://www.kindengezin.be/nl/ouders",
              "outdated": True}  # the note with its warning: the longest
    return {
        "address": desk.address, "name": desk.name, "phone": desk.phone, "email": desk.email,
        "hours": desk.hours_text(lang), "contact": f"{desk.phone}, {desk.email}",
        "when": when, "until": a_date, "start": a_date, "end": a_date, "by": a_date,
        "date": a_date, "checked": a_date, "end_within": a_date,
        "weekday": i18n.t("weekday.wed", lang), "time": "13:30",
        "d": "28", "m": "12", "y": "2026",
        "source": "www.kindengezin.be", "note": figure_note(tariff, lang),
        "amount": "35,89", "lowest": money(1.81, lang), "standard": money(6.47, lang),
        "minimum": money(6.47, lang), "maximum": money(35.89, lang),
        "range": i18n.t("price.range_both", lang, minimum=money(6.47, lang),
                        maximum=money(35.89, lang)),
        "threshold": money(32145.85, lang, 0), "income": money(27000, lang, 0),
        "low": money(50, lang, 0), "max": money(250, lang, 0),
        "groups": i18n.t("format.list_sep", lang).join(groups),
        "facts": "",  # care types: measured below with the real dated facts
        "choices": i18n.t("format.list_sep", lang).join(
            [i18n.t("answer.yes", lang), i18n.t("answer.no", lang)]),
        "reference": "KO-2026-004711", "days": "18", "months": "12", "n": "18",
        "percent": "60", "all": "9", "babies": "5", "older": "8", "mixed": "7",
        "municipality": "Sint-Katelijne-Waver", "type": i18n.t("care_type.groepsopvang", lang)
        if i18n.has("care_type.groepsopvang", lang) else "Kinderdagverblijf",
        "pricing": i18n.t("places.pricing.income_related", lang)
        if i18n.has("places.pricing.income_related", lang) else "inkomenstarief",
        "field": i18n.t("intake.label.child_birth", lang), "value": a_date,
        "messages": "12", "requests": "1", "command": "make inbox",
        "url": "http://127.0.0.1:5080/chat",
    }


# a placeholder name that means something else in one text: {hours} of a short day is a number
PER_KEY = {"house_rules.short_day": lambda lang: {
    "hours": "5", "percent": i18n.t("house_rules.percent", lang, n=60)}}


def too_long(lang: str) -> dict[str, int]:
    found = {}
    base = samples(lang)
    for key, text in i18n.catalog(lang).items():
        if key.startswith(NOT_FOR_FAMILIES) or key in SENT_IN_PARTS:
            continue
        values = {**base, **(PER_KEY[key](lang) if key in PER_KEY else {})}
        missing = i18n.placeholders(text) - values.keys()
        assert not missing, f"{lang}:{key}: give {missing} a realistic sample value"
        rendered = text.format(**values) if i18n.placeholders(text) else text
        if segments(rendered) > LIMIT:
            found[key] = segments(rendered)
    return found


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_every_family_text_fits_three_segments(lang: str) -> None:
    assert too_long(lang) == {}


# the check's outcomes, from one group to all of them (a list of five groups is long)
OUTCOME_FACTS: list[dict[str, object]] = [
    {"care_pricing": "income_related", "work_situation": "working"},
    {"care_pricing": "income_related", "work_situation": "working", "single_parent": True,
     "low_income": True, "foster_child": True, "sibling_in_location": True},
    {"care_pricing": "income_related", "work_situation": "none", "receives_leefloon": True,
     "income_dropped_20pct_3_months": True, "cannot_afford_income_tariff": True,
     "foster_child": True},
    {"care_pricing": "free_price"},
]


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_composed_replies_fit(lang: str) -> None:
    """Texts the code puts together: a care type with its dated facts, the price with its
    figures, the check's outcome with its groups and amounts, the house rules, the loket's
    contact block with a closure notice."""
    replies = [r for ct in care_info.CARE_TYPES
               for r in care_info.explain_care_types([ct], lang, ON)]
    replies += care_info.explain_price(lang, ON)
    replies += care_info.explain_price(lang, ON, more=True, role="parent")
    replies += care_info.explain_price(lang, ON, more=True, role="toeleider")
    for facts in OUTCOME_FACTS:
        for role in ("parent", "toeleider"):
            for check in ("priority", "reduced_rate"):
                replies += eligibility.outcome(check, facts, role, lang, ON)
    for topics in [(), *[(topic,) for topic in house_rules.TOPICS]]:
        replies += house_rules.explain(lang, ON, topics)
    texts = [t for r in replies for t in (*r.before, r.text)]
    # the contact block, with a closure notice, as it is sent
    contact = loket.load().contact_reply(lang, datetime(2026, 12, 21, 10, 0, tzinfo=TZ))
    texts += [*contact.before, contact.text]
    long_ones = {text[:40]: segments(text) for text in texts if segments(text) > LIMIT}
    assert long_ones == {}


def _full_answers() -> dict[str, object]:
    answers: dict[str, object] = {}
    for field in dialogue.FIELDS:
        if field.kind == "yesno":
            answers[field.name] = True
        elif field.kind == "choice":
            answers[field.name] = field.values[0]
        else:
            answers[field.name] = {
                "child_birth": "2025-09-28", "start": "2027-03-01", "frequency": "4",
                "location": {"postcode": "2860", "municipality": "Sint-Katelijne-Waver"},
                "reason": ["work", "single_parent"],
            }.get(field.name, "Marie-Christine Van den Broeck-Vermeulen")
    return answers


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_place_results_and_the_right_of_access_go_in_parts_that_each_fit(lang: str) -> None:
    from bot.places import dialogue as places

    rows = [{"name": f"Kinderdagverblijf De Kleine Reuzen {n}", "care_type": "groepsopvang",
             "pricing": "income_related", "available_from": "2027-03-01",
             "municipality": "Sint-Katelijne-Waver", "phone": "+32 15 00 00 00"}
            for n in range(3)]
    replies = places.results(rows, 0, True, lang)
    replies += dialogue.data_overview([("sent", "KO-2026-004711", _full_answers())] * 2,
                                      "parent", lang, "+32 15 00 00 00")
    texts = [t for r in replies for t in (*r.before, r.text)]
    assert all(segments(text) <= LIMIT for text in texts), [segments(t) for t in texts]
    assert sum(text.count("Kleine Reuzen") for text in texts) == 3  # whole, none cut


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
@pytest.mark.parametrize("role", ["parent", "toeleider"])
def test_the_summary_goes_in_parts_that_each_fit(lang: str, role: str) -> None:
    answers = _full_answers()
    reply = dialogue.summary(answers, role, lang)
    parts = [*reply.before, reply.text]
    assert all(segments(part) <= LIMIT for part in parts), [segments(p) for p in parts]
    whole = "\n".join(parts)
    assert whole.startswith(i18n.t(f"intake.{role}.summary", lang))
    assert "Sint-Katelijne-Waver" in whole and reply.buttons  # nothing lost, buttons last


def test_phone_parts_keeps_lines_whole_and_in_order() -> None:
    lines = [f"- regel {n}: " + "x" * 100 for n in range(12)]
    parts = phone_parts("Kop", lines)
    assert len(parts) > 1 and all(segments(p) <= LIMIT for p in parts)
    assert "\n".join(parts) == "Kop\n" + "\n".join(lines)
