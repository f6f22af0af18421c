"""End to end over REST: questions about the house rules and the contract in free words, in
five languages, outside a form and in the middle of the snelfiche, with the rules that hold on
the loket's today, and the button that starts the handoff."""

from __future__ import annotations

import os

import pytest
from serving import Served

from bot import house_rules, i18n

pytestmark = pytest.mark.e2e


def _texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def _expected(lang: str, *topics: str) -> list[str]:
    return [r.text for r in house_rules.explain(lang, topics=topics)]


def _payload(replies: list[dict], title: str) -> str:
    return next(b["payload"] for r in replies for b in r.get("buttons") or []
                if b["title"] == title)


def test_a_sick_child_then_the_deposit_button_then_a_person(assistant: Served) -> None:
    sender = f"e2e-hr-nl-{os.urandom(3).hex()}"
    replies = assistant.say(sender, "moet ik betalen als mijn kind ziek is?")
    assert _texts(replies) == _expected("nl", "absence")
    replies = assistant.say(sender, _payload(replies, i18n.t("house_rules.topic.deposit", "nl")))
    assert _texts(replies) == _expected("nl", "deposit")
    assert _payload(replies, i18n.t("topic.human", "nl")) == "/request_human"
    assistant.say(sender, "/request_human")
    actions = [e.get("name") for e in assistant.tracker(sender)["events"]
               if e.get("event") == "action"]
    assert "action_handoff" in actions


@pytest.mark.parametrize(("lang", "question", "topics"), [
    ("fr", "c'est quoi le huishoudelijk reglement ?", ()),
    ("ar", "بغيت ندير شكاية على الكريش", ("complaint",)),
    ("uk", "дитина хворіє, чи треба платити?", ("absence",)),
    ("tr", "kres sozlesmesini nasil feshederim", ("changes",)),
])
def test_questions_in_free_words(assistant: Served, lang: str, question: str,
                                 topics: tuple[str, ...]) -> None:
    sender = f"e2e-hr-{lang}-{os.urandom(3).hex()}"
    assert _texts(assistant.say(sender, question)) == _expected(lang, *topics)
    assert assistant.tracker(sender)["slots"]["language"] == lang


def test_in_the_middle_of_the_snelfiche_the_question_comes_back(assistant: Served) -> None:
    sender = f"e2e-hr-intake-{os.urandom(3).hex()}"
    replies = assistant.say(sender, "je voudrais inscrire mon fils a la creche")
    assert i18n.t("intake.parent.q.consent", "fr") in replies[-1]["text"]
    replies = assistant.say(sender, _payload(replies, i18n.t("answer.yes", "fr")))
    assert replies[-1]["text"] == i18n.t("intake.parent.q.child_name", "fr")
    replies = assistant.say(sender, "la creche peut demander une caution de combien ?")
    assert _texts(replies) == [*_expected("fr", "deposit"),
                               i18n.t("intake.parent.q.child_name", "fr")]
    replies = assistant.say(sender, "Yanis")
    assert replies[-1]["text"] == i18n.t("intake.parent.q.child_birth", "fr")
