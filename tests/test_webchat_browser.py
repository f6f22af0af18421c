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


PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/inbox-shots")
QUESTIONS = ("hallo", "wat is een onthaalouder", "wat is een kinderdagverblijf",
             "wat kost kinderopvang", "wat is occasionele opvang", "wat is een onthaalouder",
             "wat is inclusieve opvang", "wat kost kinderopvang")


def _in_view(page, selector: str) -> dict:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    size = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (selector, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box)
    return box


def test_chat_on_a_phone_keeps_the_input_in_view(running: Served) -> None:
    """At 390 × 844 (and with the on-screen keyboard taking the lower part of the screen):
    after enough messages to fill the screen, the messages scroll inside the log, the input
    and its button stay on the screen, the newest message is in sight and nothing is wider
    than the screen."""
    sync_playwright, expect = _playwright()
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            page = browser.new_context(locale="nl-BE", viewport=PHONE, is_mobile=True,
                                       has_touch=True).new_page()
            page.goto(f"{running.inbox}/chat")
            assert "interactive-widget=resizes-content" in page.locator(
                'meta[name="viewport"]').get_attribute("content")
            bots = page.locator("#messages .msg.bot")
            for text in QUESTIONS:
                before = bots.count()
                _send(page, text)
                expect(bots).not_to_have_count(before, timeout=WAIT_MS)
            page.wait_for_timeout(500)  # the last reply's buttons laid out
            log = page.evaluate("""() => { const l = document.getElementById("chat-log");
                return {scroll: l.scrollHeight, client: l.clientHeight, wide: l.scrollWidth,
                        width: l.clientWidth,
                        page: document.documentElement.scrollHeight}; }""")
            assert log["scroll"] > log["client"], log  # it did overflow: the log scrolls
            assert log["page"] <= PHONE["height"], log  # the page itself does not
            assert log["wide"] <= log["width"], log  # no sideways scroll inside the log either
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            _in_view(page, "#chat-text")
            _in_view(page, "#chat-form button[type=submit]")
            newest = page.locator("#messages .msg").last.bounding_box()
            assert newest is not None and newest["y"] + newest["height"] <= _in_view(
                page, "#chat-text")["y"], newest  # the newest message above the input
            page.screenshot(path=str(SHOTS / "webchat-1-phone.png"))

            # the keyboard up: Chrome resizes the layout (interactive-widget); 390 × 480
            page.locator("#chat-text").focus()
            page.set_viewport_size({"width": PHONE["width"], "height": 480})
            page.wait_for_timeout(300)
            box = _in_view(page, "#chat-text")
            _in_view(page, "#chat-form button[type=submit]")
            newest = page.locator("#messages .msg").last.bounding_box()
            assert newest is not None and 0 < newest["y"] + newest["height"] <= box["y"] + 1
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(SHOTS / "webchat-2-keyboard.png"))
        finally:
            browser.close()
