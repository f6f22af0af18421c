"""Chat with the assistant in a terminal, over its REST channel.

Buttons are shown as numbered options, as on SMS; typing the number sends that option. With
``--serve`` the assistant is started first (logs in var/logs) and stopped on exit.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
import uuid

from bot.serve import Stack
from bot.settings import var_dir
from bot.tokens import rasa_token


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
    parser.add_argument("--url", default="http://localhost:5005/webhooks/rest/webhook")
    parser.add_argument("--sender", default=None, help="conversation id (default: a new one)")
    parser.add_argument("--serve", action="store_true", help="start the assistant first")


def run(args: argparse.Namespace) -> int:
    stack = None
    if args.serve:
        print("Starting the assistant (the first time this trains a model: a few minutes)…")
        stack = Stack(5005, 5055, log_dir=var_dir() / "logs")
        stack.start()
        print(f"Loket inbox: http://localhost:{stack.inbox_port}/inbox  (first create a staff "
              "account: .venv/bin/python -m bot inbox create-admin NAME)\n"
              f"Web chat for families: http://localhost:{stack.inbox_port}/chat")
    sender = args.sender or f"terminal-{uuid.uuid4().hex[:8]}"
    token = rasa_token()  # the REST channel may ask for it (RASA_TOKEN or var/rasa_token)
    print("Type a message (for example 'hallo'); Ctrl-D or /quit to stop.")
    buttons: list[dict] = []
    try:
        while True:
            try:
                line = input("\n> ").strip()
            except EOFError:
                break
            if line in {"/quit", "/exit"}:
                break
            if not line:
                continue
            if line.isdigit() and 1 <= int(line) <= len(buttons):
                line = buttons[int(line) - 1]["payload"]
            buttons = render(post(args.url, sender, line, token=token)) or []
    except KeyboardInterrupt:
        pass
    finally:
        if stack:
            stack.stop()
    print()
    return 0

