"""The one client of Rasa's HTTP API for the loket's side (the inbox, the handoff service).

Blocking calls (urllib): the inbox's web handlers run them in a thread. Every call carries the
Rasa token, as Rasa's ``token`` parameter or (``bearer``: our own channels, connectors/rest.py)
in the Authorization header, never both.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

LISTEN = {"event": "action", "name": "action_listen"}


class RasaError(RuntimeError):
    """Rasa did not answer as expected (down, refused, unknown action)."""


def rasa_url() -> str:
    return os.environ.get("RASA_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT', 5005)}"


def call(method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None,
         bearer: bool = False, timeout: float = 30) -> Any:
    from bot.tokens import rasa_token

    query = dict(params or {})
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {rasa_token()}"
    else:
        query["token"] = rasa_token()
    url = f"{rasa_url()}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise RasaError(f"{method} {path}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RasaError(f"{method} {path}: {exc}") from exc


# Rasa's route is /conversations/<conversation_id:path> and Sanic does not percent-decode it:
# "whatsapp:+32…" must be sent as it is ("whatsapp%3A%2B32…" is another, empty conversation).
# Only what would break the URL is escaped (none of our channels makes such ids).
_ID_SAFE = ":+@!$&'()*,;=-._~"


def conversation_path(sender_id: str) -> str:
    return f"/conversations/{urllib.parse.quote(sender_id, safe=_ID_SAFE)}"


def tracker(sender_id: str) -> dict[str, Any]:
    return call("GET", f"{conversation_path(sender_id)}/tracker") or {}


def append(sender_id: str, events: list[dict[str, Any]]) -> None:
    call("POST", f"{conversation_path(sender_id)}/tracker/events", events)


def execute(sender_id: str, action: str) -> dict[str, Any]:
    """Run ``action`` in the conversation; its messages go out on the latest input channel.

    An executed action does not end with ``action_listen``: in a conversation that is not
    paused one is added, so that the family's next message starts a normal turn.
    """
    result = call("POST", f"{conversation_path(sender_id)}/execute", {"name": action},
                  params={"output_channel": "latest"}) or {}
    if not (result.get("tracker") or {}).get("paused"):
        append(sender_id, [LISTEN])
    return result


def slot(tracker_state: dict[str, Any], name: str) -> Any:
    return (tracker_state.get("slots") or {}).get(name)


def transcript(tracker_state: dict[str, Any]) -> list[dict[str, Any]]:
    """Family, bot and staff messages of a tracker already fetched, oldest first.

    A family line keeps what Rasa parsed (``intent``, ``payload``: a tapped button arrives as
    its payload, e.g. ``/inform{…}``); a bot line keeps its buttons, so the inbox can show the
    words the family saw instead of the payload.
    """
    out = []
    for event in tracker_state.get("events") or []:
        if event.get("event") == "user":
            parse = event.get("parse_data") or {}
            out.append({"who": "family", "text": event.get("text"),
                        "at": event.get("timestamp"), "channel": event.get("input_channel"),
                        "language": language_of(parse)})
        elif event.get("event") == "bot":
            staff = (event.get("metadata") or {}).get("staff")
            data = event.get("data") or {}
            buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                       for b in data.get("buttons") or [] if isinstance(b, dict)]
            out.append({"who": "staff" if staff else "bot", "worker": staff,
                        "text": event.get("text"), "at": event.get("timestamp"),
                        "buttons": buttons})
    return out


def language_of(parse: dict[str, Any]) -> str | None:
    """The language our detector guessed for a family message (an entity with role guess)."""
    for entity in parse.get("entities") or []:
        if entity.get("entity") == "detected_language" and entity.get("role") == "guess":
            return entity.get("value")
    return None
