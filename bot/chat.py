"""Chat with the assistant in a terminal, over its REST channel.

Buttons are shown as numbered options, as on SMS; typing the number sends that option. With
``--serve`` (``make run``) the assistant is started first, on the same ports as ``make serve``
(``RASA_PORT``, ``ACTION_PORT``, ``INBOX_PORT``; logs in var/logs), and everything it started is
stopped on exit: /quit, Ctrl-D, Ctrl-C or SIGTERM, also while it is still starting. The
banner is in ``BOT_DEFAULT_LANGUAGE`` (locales ``terminal_chat.*``).
"""

from __future__ import annotations

import argparse
import json
import signal
import urllib.request
import uuid

from bot import i18n, rasa_server, serve
from bot.cli import CliError
from bot.serve import Stack, local_address, stop_on_signal
from bot.settings import var_dir
from bot.tokens import rasa_token

CREATE_ADMIN = ".venv/bin/python -m bot inbox create-admin NAME"


def post(url: str, sender: str, text: str, timeout: float = 60,
         token: str | None = None) -> list[dict]:
    """One message over the REST channel; ``token`` for a channel that asks for it
    (``BOT_REST_CHANNEL=token``), sent as a header, never in the URL."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, body, headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"[]")


def render(messages: list[dict]) -> list[dict]:
    """Print the bot's messages; return the buttons of the last one that had any."""
    buttons: list[dict] = []
    for message in messages:
        if message.get("text"):
            print(f"\n🤖 {message['text']}")
        if message.get("buttons"):
            buttons = message["buttons"]
            for number, button in enumerate(buttons, 1):
                print(f"   {number}. {button['title']}")
    return buttons


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None,
                        help="REST webhook (default: the local Rasa server on --port)")
    parser.add_argument("--sender", default=None, help="conversation id (default: a new one)")
    parser.add_argument("--serve", action="store_true", help="start the assistant first")
    serve.configure(parser)  # --port, --action-port, --inbox-port: make serve's settings


def say(text: str) -> None:
    print(text, flush=True)  # at once, also when the output is a pipe or a log


def run(args: argparse.Namespace) -> int:
    try:
        lang = i18n.default_language()
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    # SIGTERM (kill, a service manager, make passing one on) ends the chat as Ctrl-C does,
    # so the finally below stops the servers; they run in their own sessions and would
    # outlive us otherwise
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    url = args.url or (f"http://{local_address(rasa_server.interface())}:{args.port}"
                       "/webhooks/rest/webhook")
    stack = None
    try:
        if args.serve:
            say(i18n.t("terminal_chat.starting", lang))
            stack = Stack(args.port, args.action_port, log_dir=var_dir() / "logs",
                          inbox_port=args.inbox_port)
            stack.start()
            inbox = f"http://localhost:{args.inbox_port}"
            say(i18n.t("terminal_chat.inbox", lang, url=f"{inbox}/inbox", command=CREATE_ADMIN))
            say(i18n.t("terminal_chat.webchat", lang, url=f"{inbox}/chat"))
        chat(url, args.sender or f"terminal-{uuid.uuid4().hex[:8]}", lang)
    except KeyboardInterrupt:
        pass
    finally:
        # a second Ctrl-C / SIGTERM must not cut the clean-up short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack:
            say(f"\n{i18n.t('terminal_chat.stopping', lang)}")
            stack.stop()
    print()
    return 0


def chat(url: str, sender: str, lang: str) -> None:
    """Read lines until /quit or end of input; show each answer and its numbered buttons."""
    token = rasa_token()  # the REST channel may ask for it (RASA_TOKEN or var/rasa_token)
    say(i18n.t("terminal_chat.prompt", lang))
    buttons: list[dict] = []
    while True:
        try:
            line = input("\n> ").strip()
        except EOFError:
            return
        if line in {"/quit", "/exit"}:
            return
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            line = buttons[int(line) - 1]["payload"]
        buttons = render(post(url, sender, line, token=token)) or []
