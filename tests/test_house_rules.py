"""House rules and the contract (data/house_rules.yml, bot/house_rules.py): what holds on the
date asked about (always an input, never the clock), in six languages, short enough for SMS,
with where to complain and a person of the loket; and the action, also in the middle of the
snelfiche."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from test_form_actions import DOMAIN, UNSET, Dialogue, press

from bot import db, house_rules, i18n
from bot.actions.information import ActionExplainHouseRules
from bot.actions.intake import ActionAskIntakeAnswer, ValidateIntakeForm
from bot.eligibility.dialogue import money
from connectors import sms

TODAY = date(2026, 12, 4)  # the research's date: every rule of the file holds
BETWEEN = date(2025, 6, 1)  # after the model contract (25/3/2025), before the model rules
BEFORE = date(2024, 1, 1)  # before either document
HR_MODEL, CONTRACT_MODEL = date(2026, 2, 16), date(2025, 3, 25)


def _day(d: date, lang: str) -> str:
    return i18n.t("format.date", lang, d=d.day, m=d.month, y=d.year)


def _texts(lang: str, on: date, *topics: str) -> list[str]:
    return [r.text for r in house_rules.explain(lang, on, topics)]


# --------------------------------------------------------------------------------- the data

def test_the_data_has_the_figures_of_the_opgroeien_models_with_their_sources() -> None:
    data = house_rules.load()
    respite = data.holding("respite_days", TODAY)
    assert respite.value == {"days_full_time": 18, "pro_rata_part_time": True,
                             "doctor_note_allowed": False}
    assert respite.valid_from == CONTRACT_MODEL and respite.applies_to == "income_related"
    assert data.holding("short_day", TODAY).value == {"below_hours": 5, "percent": 60}
    deposit = data.holding("deposit", TODAY)
    assert deposit.value == {"max": 250, "low_income_max": 50, "low_income_up_to": 27000}
    assert deposit.valid_from == HR_MODEL == deposit.source_date
    notice = data.holding("change_notice", TODAY)
    assert notice.value["months"] == 2 and notice.applies_to == "all"
    for rule in house_rules.RULES:
        for entry in data.rules[rule]:
            assert entry.source.startswith("https://www.opgroeien.be/")
            assert entry.last_checked <= TODAY
    complaints = data.complaints
    assert (complaints.phone, complaints.email) == ("02 533 14 14",
                                                    "klachtendienst@kindengezin.be")
    assert data.holding("deposit", BETWEEN) is None  # the model rules are of 16/2/2026


def _write(folder: Path, mutate: Any) -> Path:
    raw = yaml.safe_load(house_rules.RULES_FILE.read_text(encoding="utf-8"))
    mutate(raw)
    path = folder / "house_rules.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_a_bad_file_is_refused(tmp_path: Path) -> None:
    def unordered(raw: dict) -> None:
        raw["rules"]["deposit"].append(dict(raw["rules"]["deposit"][0],
                                            valid_from=date(2020, 1, 1)))

    def no_source(raw: dict) -> None:
        del raw["rules"]["short_day"][0]["source"]

    def bad_scope(raw: dict) -> None:
        raw["rules"]["short_day"][0]["applies_to"] = "everyone"

    def unknown_rule(raw: dict) -> None:
        raw["rules"]["tips"] = raw["rules"]["deposit"]

    def no_phone(raw: dict) -> None:
        del raw["complaints"]["klachtendienst"]["phone"]

    for mutate, problem in ((unordered, "date order"), (no_source, "URL"),
                            (bad_scope, "applies_to"), (unknown_rule, "nobody says"),
                            (no_phone, "phone")):
        with pytest.raises(house_rules.HouseRulesError, match=problem):
            house_rules.load(_write(tmp_path, mutate))


def test_a_new_entry_is_said_from_its_date_on(tmp_path: Path) -> None:
    def higher(raw: dict) -> None:
        raw["rules"]["deposit"].append(dict(raw["rules"]["deposit"][0],
                                            valid_from=date(2027, 3, 1),
                                            value={"max": 275, "low_income_max": 55,
                                                   "low_income_up_to": 28000}))

    data = house_rules.load(_write(tmp_path, higher))
    before = " ".join(r.text for r in house_rules.explain("nl", date(2027, 2, 28), ["deposit"],
                                                          data=data))
    after = " ".join(r.text for r in house_rules.explain("nl", date(2027, 3, 1), ["deposit"],
                                                         data=data))
    assert money(250, "nl", 0) in before and money(275, "nl", 0) not in before
    assert money(275, "nl", 0) in after and money(250, "nl", 0) not in after
    assert _day(date(2027, 3, 1), "nl") in after and _day(HR_MODEL, "nl") in before


# ------------------------------------------------------------------------- the answer by date

@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_the_overview_says_the_respite_days_and_the_date_of_the_rules(lang: str) -> None:
    (reply,) = house_rules.explain(lang, TODAY)
    assert reply.text == i18n.t("house_rules.overview", lang, days=18,
                                date=_day(HR_MODEL, lang))
    # the other parts on request, and a person of the loket
    assert [b.payload for b in reply.buttons] == [
        *(f'/ask_house_rules{{"house_rules_topic":"{t}"}}' for t in house_rules.TOPICS),
        "/request_human"]
    assert reply.buttons[-1].title == i18n.t("topic.human", lang)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_each_topic_says_its_rules_in_force_with_their_date(lang: str) -> None:
    absence = _texts(lang, TODAY, "absence")
    assert absence[0] == i18n.t("house_rules.respite_days", lang, days=18)
    assert absence[-1].endswith(i18n.t("house_rules.as_of", lang,
                                       date=_day(CONTRACT_MODEL, lang)))
    assert i18n.t("house_rules.absence_charge", lang) in absence[-1]
    price = _texts(lang, TODAY, "price")
    percent = i18n.t("house_rules.percent", lang, n=60)
    assert price[0] == i18n.t("house_rules.short_day", lang, hours=5, percent=percent)
    assert i18n.t("house_rules.absence_charge", lang) in price[1]  # the maximumtarief
    (deposit,) = _texts(lang, TODAY, "deposit")
    for amount in (250, 50, 27000):
        assert money(amount, lang, 0) in deposit
    assert deposit.endswith(i18n.t("house_rules.as_of", lang, date=_day(HR_MODEL, lang)))
    (changes,) = _texts(lang, TODAY, "changes")
    assert changes.startswith(i18n.t("house_rules.change_notice", lang, months=2,
                                     end_within=2))
    complaint = " ".join(_texts(lang, TODAY, "complaint"))
    assert "02 533 14 14" in complaint and "klachtendienst@kindengezin.be" in complaint
    assert i18n.t("house_rules.complaint.steps", lang) in complaint  # the provider first


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_the_last_reply_offers_the_other_topics_and_a_person(lang: str) -> None:
    replies = house_rules.explain(lang, TODAY, ["price", "absence"])
    assert all(not r.buttons for r in replies[:-1])
    payloads = [b.payload for b in replies[-1].buttons]
    assert payloads == ['/ask_house_rules{"house_rules_topic":"deposit"}',
                        '/ask_house_rules{"house_rules_topic":"changes"}',
                        '/ask_house_rules{"house_rules_topic":"complaint"}', "/request_human"]
    # absence first, then the price: the answer's own order; the maximumtarief said once
    texts = [r.text for r in replies]
    assert texts[0] == i18n.t("house_rules.respite_days", lang, days=18)
    assert sum(i18n.t("house_rules.absence_charge", lang) in t for t in texts) == 1
    assert texts[-1].startswith(i18n.t("house_rules.short_day", lang, hours=5,
                                       percent=i18n.t("house_rules.percent", lang, n=60)))


def test_before_the_model_rules_only_what_held_then_is_said() -> None:
    (overview,) = house_rules.explain("en", BETWEEN)
    assert _day(CONTRACT_MODEL, "en") in overview.text
    assert _texts("en", BETWEEN, "absence")[0] == i18n.t("house_rules.respite_days", "en",
                                                          days=18)
    # the deposit and the notice come from the model rules of 16/2/2026
    assert _texts("en", BETWEEN, "deposit") == [i18n.t("house_rules.unknown", "en")]
    assert _texts("en", BETWEEN, "deposit", "absence")[0].startswith(
        i18n.t("house_rules.respite_days", "en", days=18))
    for topics in ((), ("changes",)):
        (reply,) = house_rules.explain("en", BEFORE, topics)
        assert reply.text == i18n.t("house_rules.unknown", "en")
        assert reply.buttons[-1].payload == "/request_human"
    # where to complain is known on any date
    assert "02 533 14 14" in " ".join(_texts("en", BEFORE, "complaint"))


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
@pytest.mark.parametrize("on", [TODAY, BETWEEN, date(2026, 12, 31)])
def test_every_text_fits_three_sms_in_its_encoding(lang: str, on: date) -> None:
    for topics in [(), *((t,) for t in house_rules.TOPICS)]:
        for reply in house_rules.explain(lang, on, topics):
            assert sms.segments(reply.text) <= sms.DEFAULT_MAX_SEGMENTS, (
                lang, topics, sms.encoding(reply.text), sms.length(reply.text))


# ----------------------------------------------------------------- what the question is about

@pytest.mark.parametrize(("text", "topics"), [
    ("respijtdagen?", ("absence",)),
    ("ziek kind betalen?", ("absence",)),
    ("moet ik betalen als mijn kind ziek is", ("absence",)),
    ("mag de creche een doktersbriefje vragen", ("absence",)),
    ("hoeveel waarborg mag de onthaalmoeder vragen", ("deposit",)),
    ("mijn kind is maar 4 uur daar, moet ik een volle dag betalen", ("price",)),
    ("mag de opvang meer vragen dan het maximumtarief", ("price",)),
    ("huishoudelijk reglement", ()),
    ("opzeg contract opvang", ("changes",)),
    ("ik wil een klacht indienen", ("complaint",)),
    ("my kid is sick do i still have to pay", ("absence",)),
    ("is there a deposit?", ("deposit",)),
    ("il faut payer une caution ?", ("deposit",)),
    ("enfant malade payer ?", ("absence",)),
    ("preavis contrat creche", ("changes",)),
    ("cocugum hasta odemek zorunda miyim", ("absence",)),
    ("kres depozitoyu geri verir mi", ("deposit",)),
    ("azami ucretten fazla isteyebilirler mi", ("price",)),
    ("kres hakkinda sikayet", ("complaint",)),
    ("kres sozlesmesini nasil feshederim", ("changes",)),
    ("واش خاصني نخلص الكاسيون", ("deposit",)),
    ("بالضمان", ("deposit",)),
    ("ولدي مريض واش نخلص", ("absence",)),
    ("wach nkhalas ila weldi mrid", ("absence",)),
    ("بغيت ندير شكاية", ("complaint",)),
    ("дитина хворіє чи треба платити", ("absence",)),
    ("яка максимальна застава", ("deposit",)),
    ("дитина там 4 години, платити за повний день?", ("price",)),
    ("як розірвати договір", ("changes",)),
    ("de creche verandert de regels en ik wil klagen", ("changes", "complaint")),
])
def test_the_words_name_the_topic(text: str, topics: tuple[str, ...]) -> None:
    assert house_rules.topics_in(text) == topics


# ------------------------------------------------------------------------------ the action

def _tracker(text: str, entities: list[dict[str, Any]] | None = None,
             lang: str = "nl") -> Tracker:
    slots = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}
    slots.update(language=lang)
    message = {"text": text, "intent": {"name": "ask_house_rules", "confidence": 0.95},
               "entities": entities or [],
               "intent_ranking": [{"name": "ask_house_rules", "confidence": 0.95}]}
    return Tracker("unit-sender", slots, message,
                   [{"event": "user", "text": text, "parse_data": message}], False, None, {},
                   "action_listen")


async def _run(tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionExplainHouseRules().run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages


@pytest.fixture()
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())


async def test_the_action_answers_the_topic_the_words_name(pinned: None) -> None:
    messages = await _run(_tracker("moet ik betalen als mijn zoontje ziek is?"))
    assert [m["text"] for m in messages] == _texts("nl", TODAY, "absence")
    assert messages[-1]["buttons"][-1] == {"title": i18n.t("topic.human", "nl"),
                                           "payload": "/request_human"}


async def test_the_action_answers_a_pressed_topic_button(pinned: None) -> None:
    payload = house_rules.explain("fr", TODAY)[0].buttons[4].payload
    text, intent, entities = press(payload)
    assert intent == "ask_house_rules"
    messages = await _run(_tracker(text, entities, lang="fr"))
    assert [m["text"] for m in messages] == _texts("fr", TODAY, "complaint")


async def test_the_action_says_the_rules_of_the_loket_s_today(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TODAY", BEFORE.isoformat())
    messages = await _run(_tracker("wat staat er in het huishoudelijk reglement", lang="en"))
    assert [m["text"] for m in messages] == [i18n.t("house_rules.unknown", "en")]
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    messages = await _run(_tracker("what is in the huishoudelijk reglement", lang="en"))
    assert [m["text"] for m in messages] == _texts("en", TODAY)


async def test_a_care_type_in_the_question_is_no_wish_for_that_care(pinned: None) -> None:
    events = await ActionExplainHouseRules().run(
        CollectingDispatcher(), _tracker("hoeveel waarborg mag de crèche vragen?",
                                         [{"entity": "care_type", "value": "groepsopvang"}]),
        DOMAIN)
    kept = {e.get("name"): e.get("value") for e in events if e.get("event") == "slot"}
    assert "groepsopvang" not in json.dumps(kept)


# ------------------------------------------------------------- in the middle of the snelfiche

@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("BOT_DB_URL", url)
    db.upgrade(url)
    yield url
    db.dispose_engine(url)


@pytest.mark.parametrize(("lang", "question"), [
    ("nl", "mag de creche een waarborg vragen?"),
    ("uk", "скільки respijtdagen у нас на рік?"),
])
async def test_a_house_rules_question_in_the_snelfiche_steps_aside_and_the_question_returns(
        store: str, lang: str, question: str) -> None:
    dialogue = Dialogue(ValidateIntakeForm(), ActionAskIntakeAnswer(), lang)
    await dialogue.start()
    await dialogue.press("/affirm")  # consent: the child's name is asked
    turn = await dialogue.say(question, intent="ask_house_rules")
    assert turn.stepped_aside and turn.texts == []
    assert turn.slot("intake_answer") is UNSET
    assert dialogue.slots["asked_intake_field"] == "child_name"  # asked again afterwards
    # the rule answers with the house rules, the question is asked again by the form
    dialogue.message = {**dialogue.message}
    messages = await _run(dialogue.tracker())
    topic = "deposit" if lang == "nl" else "absence"
    assert [m["text"] for m in messages] == _texts(lang, TODAY, topic)
    turn = await dialogue.say("Amira")
    assert turn.texts[-1] == i18n.t("intake.parent.q.child_birth", lang)
