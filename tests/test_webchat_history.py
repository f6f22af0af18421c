"""What a reopened web chat shows (bot/inbox/webchat.history), from a tracker as Rasa's HTTP
API gives it."""

from __future__ import annotations

from bot.inbox import webchat


def _bot(at: float, text: str, buttons: list[dict] | None = None,
         staff: str | None = None) -> dict:
    return {"event": "bot", "timestamp": at, "text": text,
            "data": {"buttons": buttons or []}, "metadata": {"staff": staff} if staff else {}}


def test_history_shows_everyone_with_tapped_buttons_as_their_titles() -> None:
    languages = [{"title": "Nederlands", "payload": '/choose_language{"language":"nl"}'},
                 {"title": "Türkçe", "payload": '/choose_language{"language":"tr"}'}]
    tracker = {"events": [
        {"event": "action", "timestamp": 1.0, "name": "action_listen"},
        {"event": "user", "timestamp": 2.0, "text": "hallo"},
        _bot(3.0, "Welke taal?", languages),
        {"event": "user", "timestamp": 4.0, "text": languages[1]["payload"]},
        {"event": "user", "timestamp": 5.0, "text": "/restart"},  # no button said it
        _bot(6.0, "Merhaba", [{"title": "Evet", "payload": "/affirm"}]),
        {"event": "slot", "timestamp": 7.0, "name": "staff_text", "value": "x"},
        _bot(8.0, "Dag, ik ben Ann", staff="ann"),
        {"event": "user", "timestamp": 9.0, "text": ""},
    ]}
    shown, latest = webchat.history(tracker)
    assert latest == 9.0
    assert [(m["text"], m["family"], m["staff"]) for m in shown] == [
        ("hallo", True, False), ("Welke taal?", False, False), ("Türkçe", True, False),
        ("Merhaba", False, False), ("Dag, ik ben Ann", False, True)]
    assert all(m["buttons"] == [] for m in shown)  # the last message has none: no old keyboard
    assert "ann" not in str(shown)
    shown, _ = webchat.history({"events": tracker["events"][:6]})
    assert shown[-1]["buttons"] == [{"title": "Evet", "payload": "/affirm"}]
    assert all(m["buttons"] == [] for m in shown[:-1])


def test_history_keeps_the_latest_messages() -> None:
    events = [_bot(float(i), f"m{i}") for i in range(1, 301)]
    shown, latest = webchat.history({"events": events})
    assert len(shown) == webchat.HISTORY_LIMIT and shown[-1]["text"] == "m300"
    assert latest == 300.0
    assert webchat.history({}) == ([], 0.0)
