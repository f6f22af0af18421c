"""End to end over REST: the snelfiche with consent, validation, a server restart in the
middle, confirmation, encryption at rest, and deletion of the family's data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from serving import ROOT, Served

from bot import i18n

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(serve_stack: Callable[..., Served]) -> Served:
    return serve_stack()


def last_text(replies: list[dict]) -> str:
    return replies[-1]["text"]


def summary_of(replies: list[dict], role: str, lang: str) -> str:
    """The snelfiche summary, sent in parts that each fit three SMS segments, as one text."""
    from bot.replies import fits_a_phone

    texts = [r.get("text") or "" for r in replies]
    header = i18n.t(f"intake.{role}.summary", lang)
    start = next(i for i, text in enumerate(texts) if text.startswith(header))
    assert all(fits_a_phone(text) for text in texts[start:])
    assert replies[-1].get("buttons")  # confirm / change on the last part
    return "\n".join(texts[start:])


def button(replies: list[dict], title: str) -> str:
    for reply in replies:
        for b in reply.get("buttons") or []:
            if b["title"] == title:
                return b["payload"]
    raise AssertionError(f"no button {title!r} in {replies}")


def requests_list(var: Path) -> list[dict]:
    env = dict(os.environ, BOT_VAR_DIR=str(var))
    done = subprocess.run([sys.executable, "-m", "bot", "requests", "list", "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def q(field: str, lang: str = "nl", role: str = "parent") -> str:
    return i18n.t(f"intake.{role}.q.{field}", lang)


def test_refusing_consent_stores_nothing(stack: Served) -> None:
    sender = "e2e-refuse-" + os.urandom(3).hex()
    replies = stack.say(sender, "ik wil mijn kind inschrijven")
    assert q("consent") in last_text(replies)
    replies = stack.say(sender, button(replies, i18n.t("answer.no", "nl")))
    assert replies[0]["text"] == i18n.t("intake.no_consent", "nl")
    assert not [r for r in requests_list(stack.var) if r["status"] == "draft"]


def test_whole_intake_with_restart_encryption_and_deletion(stack: Served) -> None:
    sender = "e2e-intake-" + os.urandom(3).hex()
    replies = stack.say(sender, "ik wil mijn kind inschrijven")
    replies = stack.say(sender, button(replies, i18n.t("answer.yes", "nl")))
    assert last_text(replies) == q("child_name")
    assert last_text(stack.say(sender, "Amira")) == q("child_birth")
    # a wrong answer: a kind explanation with an example, then the same question again
    replies = stack.say(sender, "weet ik veel banaan")
    assert [r["text"] for r in replies] == [i18n.t("intake.invalid.child_birth", "nl"),
                                           q("child_birth")]

    # the server restarts in the middle: nothing is lost, the next question follows
    stack.stop()
    stack.start()
    assert last_text(stack.say(sender, "12/05/2025")) == q("start")

    assert last_text(stack.say(sender, "volgende maand")) == q("frequency")
    assert last_text(stack.say(sender, "3")) == q("reason")
    # a correction at any time: that field changes, then the same question again
    replies = stack.say(sender, "nee sorry, haar geboortedatum is 3 mei")
    today = date.today()
    may3 = f"3/5/{today.year if (today.month, today.day) >= (5, 3) else today.year - 1}"
    assert [r["text"] for r in replies] == [
        i18n.t("intake.corrected", "nl", field=i18n.t("intake.label.child_birth", "nl"),
               value=may3), q("reason")]
    replies = stack.say(sender, "1")  # work
    assert last_text(replies) == q("location")
    replies = stack.say(sender, "mechlen")  # a typo is fine
    assert last_text(replies) == q("care_type")
    replies = stack.say(sender, button(replies, i18n.t("intake.skip", "nl")))
    assert last_text(replies) == q("allergies")
    assert last_text(stack.say(sender, "pindanoten en kiwi")) == q("health")
    assert last_text(stack.say(sender, "astma, puffer zo nodig")) == q("home_languages")
    assert last_text(stack.say(sender, "Arabisch en Nederlands")) == q("comfort")
    replies = stack.say(sender, "overslaan")
    assert last_text(replies) == q("parent_name")
    assert last_text(stack.say(sender, "Fatima El Amrani")) == q("phone")
    replies = stack.say(sender, "12345")
    assert replies[0]["text"] == i18n.t("intake.invalid.phone", "nl")
    assert last_text(stack.say(sender, "0470 12 34 56")) == q("email")
    replies = stack.say(sender, "overslaan")
    summary = summary_of(replies, "parent", "nl")
    assert "Amira" in summary and may3 in summary and "+32470123456" in summary

    # change a field from the summary, then confirm
    replies = stack.say(sender, button(replies, i18n.t("intake.change", "nl")))
    replies = stack.say(sender, button(replies, i18n.t("intake.label.child_name", "nl")))
    assert last_text(replies) == q("child_name")
    replies = stack.say(sender, "Amira Lina")
    assert "Amira Lina" in summary_of(replies, "parent", "nl")
    replies = stack.say(sender, button(replies, i18n.t("intake.confirm_send", "nl")))
    done = last_text(replies)
    reference = done.split("KO-")[1][:6]
    assert f"KO-{reference}" in done

    mine = [r for r in requests_list(stack.var) if r["reference"] == f"KO-{reference}"]
    assert mine and mine[0]["status"] == "new" and mine[0]["municipality"] == "Mechelen"

    # special-category answers are unreadable at rest, in our store and in the tracker store
    for db in ("bot.db", "tracker.db"):
        raw = b"".join(p.read_bytes() for p in stack.var.glob(db + "*"))
        assert b"pindanoten" not in raw and b"puffer" not in raw, db

    # deletion: confirm, then nothing of this sender remains
    replies = stack.say(sender, "verwijder mijn gegevens")
    assert replies[0]["text"] == i18n.t("delete.confirm", "nl")
    replies = stack.say(sender, button(replies, i18n.t("delete.yes", "nl")))
    assert replies[0]["text"].startswith(i18n.t("delete.done", "nl", requests=1,
                                                 messages=0)[:10])
    assert not [r for r in requests_list(stack.var) if r["reference"] == f"KO-{reference}"]
    events = stack.tracker(sender)["events"]
    assert not [e for e in events if e.get("event") == "user"], "conversation not erased"


def test_toeleider_files_for_two_families_in_english(stack: Served) -> None:
    sender = "e2e-toeleider-" + os.urandom(3).hex()
    tq = lambda field: q(field, "en", "toeleider")  # noqa: E731 - a short local alias
    stack.say(sender, "I am a social worker at the CAW and I ask this for a family")
    replies = stack.say(sender, "I want to register a child for childcare")
    assert tq("consent") in last_text(replies)
    replies = stack.say(sender, button(replies, i18n.t("answer.yes", "en")))
    assert last_text(replies) == tq("family_consent")
    replies = stack.say(sender, button(replies, i18n.t("answer.yes", "en")))
    # the organisation was said in the first message ("at the CAW"): not asked again
    assert last_text(replies) == tq("toeleider_name")
    assert last_text(stack.say(sender, "Jan Peeters")) == tq("toeleider_contact")
    assert last_text(stack.say(sender, "jan.peeters@caw.example.be")) == tq("child_name")

    def family(child: str, phone: str) -> tuple[str, list[dict]]:
        assert last_text(stack.say(sender, child)) == tq("child_birth")
        assert last_text(stack.say(sender, "8 months")) == tq("start")
        assert last_text(stack.say(sender, "next month")) == tq("frequency")
        assert last_text(stack.say(sender, "2")) == tq("reason")
        assert last_text(stack.say(sender, "5")) == tq("location")  # integration course
        replies = stack.say(sender, "2800")
        for field in ("care_type", "allergies", "health", "home_languages", "comfort"):
            assert last_text(replies) == tq(field)
            replies = stack.say(sender, button(replies, i18n.t("intake.skip", "en")))
        assert last_text(replies) == tq("parent_name")
        assert last_text(stack.say(sender, "Olena")) == tq("phone")
        replies = stack.say(sender, phone)
        replies = stack.say(sender, button(replies, i18n.t("intake.skip", "en")))
        assert summary_of(replies, "toeleider", "en")
        replies = stack.say(sender, button(replies, i18n.t("intake.confirm_send", "en")))
        reference = "KO-" + last_text(replies).split("KO-")[1][:6]
        assert button(replies, i18n.t("intake.another_family", "en"))
        return reference, replies

    first, replies = family("Mila", "0470 11 22 33")
    # the second family: consent again, the toeleider's own details are not asked again
    replies = stack.say(sender, button(replies, i18n.t("intake.another_family", "en")))
    replies = stack.say(sender, button(replies, i18n.t("answer.yes", "en")))
    replies = stack.say(sender, button(replies, i18n.t("answer.yes", "en")))
    assert last_text(replies) == tq("child_name")
    second, _ = family("Taras", "0470 44 55 66")
    assert first != second
    mine = {r["reference"]: r for r in requests_list(stack.var)
            if r["reference"] in (first, second)}
    assert set(mine) == {first, second}
    assert {r["role"] for r in mine.values()} == {"toeleider"}
    assert {r["status"] for r in mine.values()} == {"new"}
