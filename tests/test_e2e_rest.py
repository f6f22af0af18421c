"""End to end: ``make serve`` on embedded defaults, chatting over REST in three languages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from serving import ROOT, Served, free_port, http_json

from bot import care_info, i18n

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("lang", "first", "question", "care_type"),
    [
        ("nl", "goeiemorgen, hoe gaat het met jou", "wat is een onthaalouder",
         "gezinsopvang"),
        ("fr", "bonjour, comment allez-vous aujourd'hui",
         "c'est quoi l'accueil d'urgence", "dringende_opvang"),
        ("ar", "السلام عليكم، كيف حالك اليوم", "ما هي الحضانة الدامجة",
         "inclusieve_opvang"),
    ],
)
def test_chat_in_language(assistant: Served, lang: str, first: str, question: str,
                          care_type: str) -> None:
    sender = f"e2e-{lang}-{os.urandom(3).hex()}"
    replies = assistant.say(sender, first)
    assert replies, "no reply"
    assert assistant.tracker(sender)["slots"]["language"] == lang
    replies = assistant.say(sender, question)
    # the text with the figures that hold today (data/care_types.yml)
    assert [r.get("text") for r in replies] == [
        r.text for r in care_info.explain_care_types([care_type], lang)]
    # a short answer in another language does not switch the conversation
    replies = assistant.say(sender, "ok merci")
    assert assistant.tracker(sender)["slots"]["language"] == lang
    assert replies and all(r["text"] for r in replies)


def test_explicit_language_choice_wins(assistant: Served) -> None:
    sender = f"e2e-choice-{os.urandom(3).hex()}"
    replies = assistant.say(sender, "hallo")
    menu = replies[-1]["buttons"]
    assert [b["title"] for b in menu] == [name for _, name in i18n.language_menu()]
    turkish = next(b for b in menu if b["title"] == i18n.t("language_name", "tr"))
    replies = assistant.say(sender, turkish["payload"])
    assert replies[0]["text"] == i18n.t("language.confirm", "tr")
    assert assistant.tracker(sender)["slots"]["language"] == "tr"


def test_http_api_needs_the_token(assistant: Served) -> None:
    status, _ = http_json(f"{assistant.base}/conversations/x/tracker")
    assert status == 401
    status, _ = http_json(f"{assistant.base}/conversations/x/tracker", token="wrong")
    assert status == 401
    status, body = http_json(f"{assistant.base}/model/parse", {"text": "hallo"},
                             token=assistant.token)
    assert status == 200 and body["intent"]["name"] == "greet"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_make_serve_stops_everything_on_sigterm(tmp_path) -> None:
    # a token that starts with "-" (token_urlsafe makes one now and then) must not read as
    # an option of `rasa run`
    served = Served(tmp_path, token="-t0ken").start()
    assert served.proc is not None
    ports = (served.port, served.action_port, served.inbox_port)
    try:
        assert all(map(_port_open, ports))
        os.killpg(served.proc.pid, signal.SIGTERM)
        served.proc.wait(timeout=60)
    finally:
        served.stop()  # only when the test failed before its SIGTERM
    # make returns at once; the servers finish their graceful shutdown within seconds
    deadline = time.monotonic() + 30
    while any(map(_port_open, ports)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_port_open, ports))
    leftover = subprocess.run(["pgrep", "-f", f"--port {served.port}"], capture_output=True,
                              text=True)
    assert leftover.stdout.strip() == ""


def test_a_failed_start_leaves_no_server_running(tmp_path, monkeypatch) -> None:
    """The Rasa server cannot start (its port is taken): ``Stack.start`` (what ``make serve``
    and ``make run`` use) fails and stops the servers it had started."""
    from bot.serve import Stack

    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RASA_TOKEN", "t")
    action_port, inbox_port = free_port(), free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stack = Stack(taken.getsockname()[1], action_port, log_dir=tmp_path / "logs",
                      inbox_port=inbox_port)
        with pytest.raises(SystemExit, match="exited during start-up"):
            stack.start(timeout=240)
    assert all(proc.poll() is not None for proc in stack.procs)
    assert not _port_open(action_port) and not _port_open(inbox_port)


def test_priority_check_over_rest(assistant: Served) -> None:
    sender = f"e2e-prio-{os.urandom(3).hex()}"
    replies = assistant.say(sender, "heb ik voorrang in de crèche?")
    texts = [r["text"] for r in replies]
    assert texts == [i18n.t("eligibility.parent.intro.priority", "nl"),
                     i18n.t("eligibility.parent.q.care_pricing", "nl")]
    income_related = replies[-1]["buttons"][0]["payload"]
    replies = assistant.say(sender, income_related)  # a button, as on Telegram or the web
    assert replies[-1]["text"] == i18n.t("eligibility.parent.q.work_situation", "nl")
    replies = assistant.say(sender, "banaan")  # not an answer: the choices written out
    labels = [b["title"] for b in replies[-1]["buttons"][:-1]]  # without "don't know"
    assert [r["text"] for r in replies] == [
        i18n.t("answer.choices", "nl", choices=", ".join(labels)),
        i18n.t("eligibility.parent.q.work_situation", "nl")]
    replies = assistant.say(sender, "1")  # typed number, as on SMS: "Werken"
    outcome = "\n".join(r["text"] for r in replies)
    assert i18n.t("eligibility.group.work", "nl") in outcome
    assert "indicatie" in outcome and "30/4/2025" in outcome
    slots = assistant.tracker(sender)["slots"]
    assert slots["facts"] == {"care_pricing": "income_related", "work_situation": "working"}
    assert slots["language"] == "nl"
    # the facts are kept: asking about the reduced rate does not ask the pricing again
    replies = assistant.say(sender, "kan ik minder betalen?")
    assert replies[-1]["text"] != i18n.t("eligibility.parent.q.care_pricing", "nl")


def test_free_place_search_over_rest(assistant: Served) -> None:
    sender = f"e2e-places-{os.urandom(3).hex()}"
    replies = assistant.say(sender, "is er nog plaats in mechelen?")
    assert replies[-1]["text"] == i18n.t("places.q.start", "nl")  # the town was in the question
    assert assistant.say(sender, "volgende maand")[-1]["text"] == i18n.t("places.q.child", "nl")
    assert assistant.say(sender, "8 maanden")[-1]["text"] == i18n.t("places.q.days", "nl")
    replies = assistant.say(sender, "3")
    # Rasa's REST channel sends each paragraph as its own message: read the whole turn
    results = "\n\n".join(r["text"] for r in replies[:-1])
    assert results.startswith(i18n.t("places.results_intro", "nl"))
    assert "(fictief)" in results and "Mechelen" in results
    assert results.count("\nTel. ") <= 3  # at most three places a message, fit for a phone
    titles = [b["title"] for b in replies[-1]["buttons"]]
    assert i18n.t("places.register", "nl") in titles
    if i18n.t("places.more", "nl") in titles:  # the next page continues the numbering
        more = next(b for b in replies[-1]["buttons"] if b["title"] == i18n.t("places.more", "nl"))
        page2 = "\n\n".join(r["text"] for r in assistant.say(sender, more["payload"]))
        assert page2.startswith(i18n.t("places.results_more", "nl")) and "\n4. " in "\n" + page2


def test_free_place_without_result_is_honest_and_recorded(assistant: Served) -> None:
    sender = f"e2e-noplace-{os.urandom(3).hex()}"
    assistant.say(sender, "I am looking for a free place in Oostende")
    assistant.say(sender, "next month")
    assistant.say(sender, "1 year")
    replies = assistant.say(sender, "2")
    assert replies[0]["text"].startswith(i18n.t("places.none", "en", municipality="Oostende",
                                                date="")[:20])
    titles = [b["title"] for b in replies[-1]["buttons"]]
    assert i18n.t("places.try_occasional", "en") in titles
    env = dict(os.environ, BOT_VAR_DIR=str(assistant.var))
    done = subprocess.run([sys.executable, "-m", "bot", "places", "unmet", "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True)
    assert "Oostende" in done.stdout


def test_contradiction_gets_a_question_not_a_silent_overwrite(assistant: Served) -> None:
    sender = f"e2e-conflict-{os.urandom(3).hex()}"
    assistant.say(sender, "heb ik voorrang?")
    for answer in ("1", "5", "2", "2"):  # inkomenstarief, no work reason, no foster, no sibling
        replies = assistant.say(sender, answer)
    assert replies[-1]["text"] == i18n.t("eligibility.parent.q.single_parent", "nl")
    assistant.say(sender, "1")  # raises the child alone: priority settled
    assert assistant.tracker(sender)["slots"]["facts"]["single_parent"] is True
    replies = assistant.say(sender, "kan ik minder betalen?")
    replies = assistant.say(sender, "nee, mijn man werkt voltijds")
    assert replies[-1]["text"] == i18n.t("conflict.parent.single_parent", "nl")
    assert assistant.tracker(sender)["slots"]["facts"]["single_parent"] is True  # not yet changed
    partner = replies[-1]["buttons"][1]["payload"]
    assistant.say(sender, partner)
    assert assistant.tracker(sender)["slots"]["facts"]["single_parent"] is False


def test_price_in_steps_with_its_more_button(assistant: Served) -> None:
    """The price's first answer is short; its "more" button (a payload) gives the rest, and
    the conversation stays in its language (issue 16 item 7)."""
    sender = f"e2e-price-{os.urandom(3).hex()}"
    assistant.say(sender, "bonjour, je voudrais des informations sur l'accueil")
    replies = assistant.say(sender, "combien coûte la crèche ?")
    assert replies[0]["text"] == i18n.t("price.overview", "fr")
    more = next(b for b in replies[-1]["buttons"]
                if b["title"] == i18n.t("price.more_button", "fr"))
    replies = assistant.say(sender, more["payload"])
    assert [r.get("text") for r in replies] == [
        i18n.t("price.more", "fr"), i18n.t("price.cheaper", "fr"), i18n.t("attest.parent", "fr")]
    assert assistant.tracker(sender)["slots"]["language"] == "fr"
