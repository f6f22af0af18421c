"""What did not reach a family, and what the loket worker can do about it.

``problems(sender_id)`` is what the inbox calls for a conversation page: one entry per reply
that failed or was held back (a refusal by the provider, a failure after acceptance reported
by a status callback, a STOP, a block, WhatsApp's 24-hour window…), oldest first, each with
the provider's code and a plain "what to do" from ``locales/staff/<lang>.yml``
(``delivery_problem.<code or reason>``). A reply delivered after all (a late "delivered"
callback) is no problem any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.inbox import texts
from connectors import messages

# Twilio's codes of a failure after acceptance that the worker can act on (Twilio's error
# dictionary), plus the ones a refusal at the API carries
ADVICE_CODES = ("30003", "30004", "30005", "30006", "30007", "30008", "63003", "63016",
                "63024", "21610", "21211", "21614")
# why we held a reply back ourselves (connectors.messages ``reason``)
ADVICE_REASONS = ("outside_24h_window", "opted_out", "blocked_by_user", "no_sender_configured",
                  "gave_up", "unsubscribed_at_twilio", messages.AWAITING_ANSWER,
                  "template_failed")
GENERIC = "other"


@dataclass(frozen=True)
class DeliveryProblem:
    message_id: int  # the first part of the reply that did not arrive
    reply_id: str | None
    at: datetime  # when it was last updated (the callback's moment for a late failure)
    channel: str
    status: str  # failed | not_sent | queued (awaiting_answer)
    reason: str | None
    error_code: str | None
    delivery: str | None  # the provider's last state (undelivered, failed…)
    text: str  # what the family did not get (the first part)
    advice: str  # what the worker can do, in the staff language


def advice_key(error_code: str | None, reason: str | None) -> str:
    if reason == messages.AWAITING_ANSWER:  # a 63016 that was dealt with: say what happens
        return f"delivery_problem.{reason}"
    if error_code in ADVICE_CODES:
        return f"delivery_problem.{error_code}"
    if reason in ADVICE_REASONS:
        return f"delivery_problem.{reason}"
    return f"delivery_problem.{GENERIC}"


def _problem(row: dict) -> bool:
    if row["kind"] == messages.TEMPLATE:
        return row["status"] in (messages.FAILED, messages.NOT_SENT)
    return row["status"] in (messages.FAILED, messages.NOT_SENT) or (
        row["status"] == messages.QUEUED and row["reason"] == messages.AWAITING_ANSWER)


def problems(sender_id: str, lang: str = texts.DEFAULT,
             url: str | None = None) -> list[DeliveryProblem]:
    """The replies of one conversation that did not reach the family (yet), oldest first,
    with what to do (``lang``: the staff language, nl or en). A part sent again later and
    taken (a WhatsApp message kept for the family's answer, an SMS instead) is no problem;
    one that waits for the family's answer is listed with reason ``awaiting_answer``."""
    rows = messages.outbound(sender_id, url)
    arrived = {(r["reply_id"], r["part"], r["id"]) for r in rows
               if r["status"] == messages.SENT and r["reply_id"]}
    out: list[DeliveryProblem] = []
    seen: set[str] = set()
    for row in rows:
        if not _problem(row):
            continue
        if any(reply == row["reply_id"] and part == row["part"] and later > row["id"]
               for reply, part, later in arrived):
            continue  # it went out after all
        key = row["reply_id"] or f"#{row['id']}"
        if key in seen:  # later parts of the same reply ("previous_part_failed")
            continue
        seen.add(key)
        out.append(DeliveryProblem(
            message_id=row["id"], reply_id=row["reply_id"], at=row["updated_at"],
            channel=row["channel"], status=row["status"], reason=row["reason"],
            error_code=row["error_code"], delivery=row["delivery"], text=row["text"] or "",
            advice=texts.st(advice_key(row["error_code"], row["reason"]), lang)))
    return out
