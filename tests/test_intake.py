"""The snelfiche without Rasa: field order, answer checks, drafts, encryption, erasure."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text

from bot import crypto, db
from bot.intake import dialogue, store
from bot.intake.models import CareRequest
from bot.privacy import erasure
from bot.profile import Profile

TODAY = date(2026, 11, 25)


@pytest.fixture()
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    with db.session_scope(url) as s:
        yield s


def test_consent_comes_first_and_refusal_ends() -> None:
    assert dialogue.next_field({}, "parent", []) == "consent"
    assert dialogue.next_field({"consent": False}, "parent", []) is None


def test_toeleider_gives_family_consent_and_own_details_first() -> None:
    answers = {"consent": True}
    assert dialogue.next_field(answers, "toeleider", []) == "family_consent"
    answers["family_consent"] = True
    assert dialogue.next_field(answers, "toeleider", []) == "organisation"
    assert dialogue.next_field({"consent": True}, "parent", []) == "child_name"
    assert dialogue.next_field({"consent": True, "family_consent": False}, "toeleider",
                               []) is None


def test_known_facts_are_not_asked_again() -> None:
    pre = Profile.of({"location": {"municipality": "Mechelen", "postcode": "2800"},
                      "start": "2027-01-04", "child": "2025-05-12", "days": 3},
                     {"work_situation": "working"}, {}).intake_prefill()
    assert pre == {"location": {"municipality": "Mechelen", "postcode": "2800"},
                   "start": "2027-01-04", "child_birth": "2025-05-12", "frequency": "3",
                   "reason": ["work"]}
    answers = {"consent": True, "child_name": "A", **pre}
    assert dialogue.next_field(answers, "parent", []) == "care_type"


def test_all_answered_leads_to_confirmation() -> None:
    answers = {f.name: "x" for f in dialogue.FIELDS if "parent" in f.roles}
    answers["consent"] = True
    assert dialogue.next_field(answers, "parent", []) == dialogue.CONFIRM


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("phone", "0470 12 34 56", "+32470123456"),
        ("phone", "+32 15 00 00 01", "+3215000001"),
        ("email", "Naam@Voorbeeld.be", "naam@voorbeeld.be"),
        ("location", "2800", {"municipality": "Mechelen", "postcode": "2800"}),
        ("location", "sint katelijne waver",
         {"municipality": "Sint-Katelijne-Waver", "postcode": "2860"}),
        ("reason", "1", ["work"]),
        ("child_name", "Amira", "Amira"),
    ],
)
def test_valid_answers(field, text, expected) -> None:
    read = dialogue.interpret(field, text, "inform", [], "nl", TODAY)
    assert read.ok and read.value == expected


@pytest.mark.parametrize(
    ("field", "text", "problem"),
    [
        ("phone", "12345", "intake.invalid.phone"),
        ("email", "geen@", "intake.invalid.email"),
        ("location", "Parijs", "intake.invalid.location"),
        ("location", "9999", "intake.invalid.location"),
        ("reason", "9", "intake.invalid.reason"),
        ("child_name", "1234", "intake.invalid.name"),
        ("consent", "misschien", "intake.invalid.yesno"),
    ],
)
def test_invalid_answers_get_an_explanation(field, text, problem) -> None:
    read = dialogue.interpret(field, text, "inform", [], "nl", TODAY)
    assert not read.ok and read.problem == problem


def test_channel_number_is_offered_and_confirmed() -> None:
    sender = "whatsapp:+32470112233"
    reply = dialogue.question("phone", "parent", "nl", sender)
    assert "+32470112233" in reply.text
    read = dialogue.interpret("phone", "ja", "affirm", [], "nl", TODAY, sender)
    assert read.ok and read.value == "+32470112233"


def test_optional_fields_can_be_skipped() -> None:
    read = dialogue.interpret("allergies", "overslaan", "inform", [], "nl", TODAY)
    assert read.skipped
    read = dialogue.interpret("allergies", "/inform",
                              "inform", [{"entity": "intake_value", "value": "null"}], "nl", TODAY)
    assert read.skipped


def test_draft_saves_each_answer_and_encrypts_special_category(session) -> None:
    request = store.start_draft(session, "s1", channel="rest", role="parent", language="nl")
    store.save_answer(session, request, "consent", True)
    store.save_answer(session, request, "child_name", "Lina")
    store.save_answer(session, request, "allergies", "pindanoten")
    session.commit()
    assert store.latest_draft(session, "s1").id == request.id
    assert store.answers(request)["allergies"] == "pindanoten"
    assert "allergies" not in request.fields
    raw = session.execute(text("SELECT fields, sensitive FROM care_requests")).one()
    assert "pindanoten" not in raw[1] and "Lina" in raw[0]
    assert json.loads(crypto.decrypt(raw[1])) == {"allergies": "pindanoten"}


def test_confirm_gives_a_reference_and_status_new(session) -> None:
    request = store.start_draft(session, "s2", channel="rest", role="parent", language="fr")
    reference = store.confirm(session, request)
    assert reference.startswith("KO-") and len(reference) == 9
    (row,) = [r for r in store.list_requests(session) if r["id"] == request.id]
    assert row["status"] == "new" and row["reference"] == reference
    assert store.latest_draft(session, "s2") is None


def test_erasure_removes_requests_and_marks_the_conversation(session) -> None:
    store.start_draft(session, "s3", channel="rest", role="parent", language="nl")
    store.start_draft(session, "other", channel="rest", role="parent", language="nl")
    counts = erasure.erase_sender(session, "s3")
    assert counts["requests"] == 1
    assert erasure.pending_erasures(session, "s3")
    assert session.query(CareRequest).filter_by(sender_id="other").count() == 1
