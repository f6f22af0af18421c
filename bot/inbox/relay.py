"""The inbox's side of Rasa's HTTP API: staff replies, handback, request updates, web chat.

Staff texts go out through Rasa so they travel the family's own channel: the inbox sets a
slot and asks Rasa to run a small action (``POST /conversations/<id>/execute`` with
``output_channel=latest``), which utters the text in the conversation. Blocking calls: the
web handlers run them in a thread.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bot import handoff

STAFF_SAY = "action_staff_say"
STAFF_HANDBACK = "action_staff_handback"
REQUEST_UPDATE = "action_request_update"
LISTEN = {"event": "action", "name": "action_listen"}


class RasaError(RuntimeError):
    """Rasa did not answer as expected (down, refused, unknown action)."""


def _call(method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None,
          bearer: bool = False, timeout: float = 30) -> Any:
    """Rasa's HTTP API with its token: as Rasa's ``token`` parameter, or (``bearer``: our own
    channels, connectors/rest.py) in the Authorization header."""
    from bot.tokens import rasa_token

    query = dict(params or {})
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {rasa_token()}"
    else:
        query["token"] = rasa_token()
    url = f"{handoff.rasa_url()}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise RasaError(f"{method} {path}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RasaError(f"{method} {path}: {exc}") from exc


# Rasa's route is ``/conversations/<conversation_id:path>`` and Sanic does not percent-decode
# it: "whatsapp:+32…" must go as it is ("whatsapp%3A%2B32…" would be another conversation).
# Only what would break the URL is escaped (none of our channels makes such ids).
_ID_SAFE = ":+@!$&'()*,;=-._~"


def _conversation(sender_id: str) -> str:
    return f"/conversations/{urllib.parse.quote(sender_id, safe=_ID_SAFE)}"


def tracker(sender_id: str) -> dict[str, Any]:
    return _call("GET", f"{_conversation(sender_id)}/tracker") or {}


def append(sender_id: str, events: list[dict[str, Any]]) -> None:
    _call("POST", f"{_conversation(sender_id)}/tracker/events", events)


def transcript(tracker_state: dict[str, Any]) -> list[dict[str, Any]]:
    """Family, bot and staff messages, oldest first: the shape of ``bot.handoff.transcript``,
    from a tracker already fetched (one request gives the transcript and the slots)."""
    out = []
    for event in tracker_state.get("events") or []:
        if event.get("event") == "user":
            out.append({"who": "family", "text": event.get("text"),
                        "at": event.get("timestamp"), "channel": event.get("input_channel"),
                        "language": handoff._language_of(event.get("parse_data") or {})})
        elif event.get("event") == "bot":
            staff = (event.get("metadata") or {}).get("staff")
            out.append({"who": "staff" if staff else "bot", "worker": staff,
                        "text": event.get("text"), "at": event.get("timestamp")})
    return out


def execute(sender_id: str, action: str) -> dict[str, Any]:
    """Run ``action`` in the conversation; its messages go out on the latest input channel.

    An executed action does not end with ``action_listen``: in a conversation that is not
    paused one is added, so that the family's next message starts a normal turn.
    """
    result = _call("POST", f"{_conversation(sender_id)}/execute", {"name": action},
                   params={"output_channel": "latest"}) or {}
    if not (result.get("tracker") or {}).get("paused"):
        append(sender_id, [LISTEN])
    return result


@dataclass(frozen=True)
class Delivery:
    """How a staff message went out: ``sent`` (Rasa ran the action and the channel took it),
    ``failed`` or ``not_sent`` (the channel store says so), with the channel's reason."""

    status: str
    reason: str | None = None


def _last_outbound_id(sender_id: str) -> int | None:
    try:
        from sqlalchemy import func, select

        from bot import db
        from bot.messages import OUT, ChannelMessage
    except ImportError:  # no channel message store in this deployment
        return None
    with db.session_scope() as session:
        return session.execute(
            select(func.max(ChannelMessage.id)).where(ChannelMessage.sender_id == sender_id,
                                                      ChannelMessage.direction == OUT)
        ).scalar() or 0


def _channel_delivery(sender_id: str, after_id: int | None) -> Delivery | None:
    """The stored outbound status of the parts sent after ``after_id`` (Twilio, Telegram)."""
    if after_id is None:
        return None
    from sqlalchemy import select

    from bot import db
    from bot.messages import OUT, ChannelMessage

    with db.session_scope() as session:
        rows = session.execute(
            select(ChannelMessage).where(ChannelMessage.sender_id == sender_id,
                                         ChannelMessage.direction == OUT,
                                         ChannelMessage.id > after_id)
        ).scalars().all()
        for row in rows:
            if row.status != "sent":
                return Delivery(row.status, row.reason or row.error_code)
        return Delivery("sent") if rows else None


def say(sender_id: str, worker: str, text: str) -> Delivery:
    before = _safe(_last_outbound_id, sender_id)
    append(sender_id, [{"event": "slot", "name": "staff_text", "value": text},
                       {"event": "slot", "name": "staff_worker", "value": worker}])
    execute(sender_id, STAFF_SAY)
    return _safe(_channel_delivery, sender_id, before) or Delivery("sent")


def _safe(fn, *args):  # the channel store is optional: its absence never blocks a reply
    try:
        return fn(*args)
    except Exception:  # best effort, read-only
        return None


def pause_for_claim(sender_id: str) -> None:
    """A worker takes a conversation the bot still answers (loket was closed): end any form,
    then pause, as the handoff action does."""
    append(sender_id, [{"event": "active_loop", "name": None},
                       {"event": "slot", "name": "requested_slot", "value": None},
                       {"event": "pause"}])


def hand_back(sender_id: str) -> None:
    """The family hears the bot is back (while still paused, so nothing else runs), then the
    conversation resumes with ``action_listen`` (``bot.handoff.resume``)."""
    execute(sender_id, STAFF_HANDBACK)
    append(sender_id, [{"event": "resume"}, LISTEN])


def resume_silently(sender_id: str) -> None:
    append(sender_id, [{"event": "resume"}, LISTEN])


def request_update(sender_id: str, reference: str, status: str) -> None:
    append(sender_id, [{"event": "slot", "name": "request_update",
                        "value": f"{reference}:{status}"}])
    execute(sender_id, REQUEST_UPDATE)


# --- web chat -----------------------------------------------------------------------------

WEBCHAT_WEBHOOK = "/webhooks/webchat/webhook"


def webhook(sender_id: str, text: str) -> list[dict[str, Any]]:
    """The web chat's own channel on the Rasa server (connectors/rest.py): only this
    process, with the token, may speak for a ``webchat:`` conversation."""
    return _call("POST", WEBCHAT_WEBHOOK, {"sender": sender_id, "message": text},
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


def slot(tracker_state: dict[str, Any], name: str) -> Any:
    return (tracker_state.get("slots") or {}).get(name)
