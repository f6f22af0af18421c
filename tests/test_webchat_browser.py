"""The web chat in a real browser (Debian's Chromium, headless, Playwright), against the whole
assistant: a family that reopens the chat (a reload, a tab the phone discarded) sees the
conversation so far, with the staff reply and the status update sent while the page was
closed; another browser cannot read it.

Chromium or Playwright missing is a failure, not a skip (as in test_inbox_browser.py).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from serving import Served, http_json
from test_inbox_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, _playwright

from bot import i18n
from bot.inbox import webchat

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(serve_stack: Callable[..., Served],
            tmp_path_factory: pytest.TempPathFactory) -> Served:
    return serve_stack(tmp_path_factory.mktemp("webchat_browser"))


def _send(page, text: str) -> None:
    page.locator("#chat-text").fill(text)
    page.locator("#chat-text").press("Enter")


def _execute(stack: Served, sender: str, slots: dict[str, str], action: str) -> None:
    """What the inbox does for a staff reply or a request's new status (bot/inbox/relay.py):
    set the slots, run the action on the conversation's own channel."""
    path = f"{stack.base}/conversations/{urllib.parse.quote(sender, safe=':')}"
    events = [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
    status, _ = http_json(f"{path}/tracker/events", events,  # type: ignore[arg-type]
                          token=stack.token)
    assert status == 200
    status, _ = http_json(f"{path}/execute?output_channel=latest", {"name": action},
                          token=stack.token)
    assert status == 200


def _poll(base: str, token: str, cookie: str | None) -> int:
    headers = {webchat.TOKEN_HEADER: token}
    if cookie is not None:
        headers["Cookie"] = f"{webchat.COOKIE}={cookie}"
    request = urllib.request.Request(f"{base}/chat/poll", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            json.loads(resp.read())
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_reopened_chat_shows_the_history_and_only_to_its_family(
        running: Served, tmp_path: Path) -> None:
    sync_playwright, expect = _playwright()
    stack, base = running, running.inbox
    staff_text = "Dag, ik ben Ann van het loket. Morgen bel ik je."
    update = i18n.t("request_update.placed", "nl", reference="KO-2026-0042")
    with sync_playwright() as p:
        def browser(name: str):
            return p.chromium.launch_persistent_context(
                str(tmp_path / name), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                headless=True, locale="nl-BE")

        family_browser, other_browser = browser("family"), browser("other")
        try:
            family = family_browser.new_page()
            family.goto(f"{base}/chat")
            _send(family, "hallo")
            messages = family.locator("#messages")
            expect(messages.locator(".msg.bot").first).to_be_visible(timeout=WAIT_MS)
            bot_count = messages.locator(".msg.bot").count()
            token = family.locator("#chat").get_attribute("data-token")
            [cookie] = [c["value"] for c in family_browser.cookies()
                        if c["name"] == webchat.COOKIE]
            sender = webchat.PREFIX + cookie.partition(".")[0]
            family.close()  # the tab is gone; the loket answers meanwhile

            _execute(stack, sender, {"staff_text": staff_text, "staff_worker": "ann"},
                     "action_staff_say")
            _execute(stack, sender, {"request_update": "KO-2026-0042:placed"},
                     "action_request_update")

            family = family_browser.new_page()
            family.goto(f"{base}/chat")
            messages = family.locator("#messages")
            expect(messages.locator(".msg.staff")).to_contain_text(staff_text,
                                                                   timeout=WAIT_MS)
            expect(messages.locator(".msg.bot").last).to_contain_text(update)
            expect(messages.locator(".msg.you .text")).to_have_text(["hallo"])
            assert messages.locator(".msg.bot").count() == bot_count + 1
            family.reload()  # once more: the same history, nothing twice
            messages = family.locator("#messages")
            expect(messages.locator(".msg.staff")).to_have_count(1, timeout=WAIT_MS)
            expect(messages.locator(".msg.you")).to_have_count(1)
            expect(messages.locator(".msg.bot")).to_have_count(bot_count + 1)
            # and the page listens on: a later staff message arrives live
            _execute(stack, sender, {"staff_text": "Nog een vraag?", "staff_worker": "ann"},
                     "action_staff_say")
            expect(messages.locator(".msg.staff")).to_have_count(2, timeout=WAIT_MS)

            # another browser: a conversation of its own, empty
            other = other_browser.new_page()
            other.goto(f"{base}/chat")
            other.wait_for_timeout(4000)  # more than one poll interval
            expect(other.locator("#messages .msg")).to_have_count(0)
            assert other.locator("#chat").get_attribute("data-token") != token
            # neither the family's page token with its own cookie, nor a forged cookie, nor
            # the token alone reads the family's conversation
            stolen = other.evaluate(
                """async (token) => (await fetch("/chat/poll", {headers: {"X-Chat-Token":
                   token}, credentials: "same-origin"})).status""", token)
            assert stolen == 403
            chat = cookie.partition(".")[0]
            assert _poll(base, token, f"{chat}.forged") == 403
            assert _poll(base, token, None) == 403
            assert _poll(base, token, cookie) == 200  # the family's own cookie does
        finally:
            family_browser.close()
            other_browser.close()
