"""The web chat's side of Rasa's HTTP API (bot/inbox/webchat.py), on the one client
``bot.rasa_api``. Staff replies, handback and request updates are the handoff workflow's
(``bot.handoff``); the names below stay for the web chat.
"""

from __future__ import annotations

from typing import Any

from bot import rasa_api
from bot.rasa_api import LISTEN, RasaError, append, execute, slot, tracker
from bot.rasa_api import transcript as transcript

WEBCHAT_WEBHOOK = "/webhooks/webchat/webhook"

__all__ = ["LISTEN", "WEBCHAT_WEBHOOK", "RasaError", "append", "bot_messages", "execute",
           "slot", "tracker", "transcript", "webhook"]


def webhook(sender_id: str, text: str) -> list[dict[str, Any]]:
    """The web chat's own channel on the Rasa server (connectors/rest.py): only this
    process, with the token, may speak for a ``webchat:`` conversation."""
    return rasa_api.call("POST", WEBCHAT_WEBHOOK, {"sender": sender_id, "message": text},
                         bearer=True, timeout=60) or []


def bot_messages(tracker_state: dict[str, Any], after: float) -> tuple[list[dict], float]:
    """Bot and staff messages after ``after`` (a tracker timestamp), and the newest timestamp
    of the conversation. Family messages are left out."""
    out = []
    latest = after
    for event in tracker_state.get("events") or []:
        at = float(event.get("timestamp") or 0)
        latest = max(latest, at)
        if event.get("event") != "bot" or at <= after or not event.get("text"):
            continue
        data = event.get("data") or {}
        buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                   for b in data.get("buttons") or [] if isinstance(b, dict)]
        out.append({"text": event["text"], "buttons": buttons, "at": at,
                    "staff": bool((event.get("metadata") or {}).get("staff"))})
    return out, latest
