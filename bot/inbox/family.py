"""Admin page: one family's data, found by conversation id, phone number or request reference;
exported (JSON, everything stored about it) or deleted on the family's request.

The domain work is ``bot.privacy`` (the same as ``python -m bot family export|delete``).
Deleting asks to type the conversation id again; the audit log keeps that an admin erased a
conversation, with the counts, but not which one (bot/privacy/ also rewrites older
audit entries about it to ``erased``).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import func, select

from bot.db import session_scope
from bot.handoff import audit
from bot.inbox.texts import st
from bot.inbox.views import blocking, lang_of, render, see_other
from bot.intake.models import CareRequest
from bot.privacy import erasure, export
from connectors.messages import ChannelContact, ChannelMessage

PATH = "/inbox/admin/family"
_PHONE = re.compile(r"^\+?[0-9 ./-]{6,20}$")
_REFERENCE = re.compile(r"^KO-[A-Z0-9]{4,12}$", re.IGNORECASE)


def find_senders(query: str) -> list[str]:
    """Conversation ids that a reference (KO-…), a phone number or an id points to."""
    query = query.strip()[:128]
    if not query:
        return []
    with session_scope() as session:
        if _REFERENCE.match(query):
            found = session.execute(select(CareRequest.sender_id).where(
                func.upper(CareRequest.reference) == query.upper())).scalars()
            return sorted(set(found))
        if _PHONE.match(query):
            number = "+" + re.sub(r"\D", "", query).removeprefix("00")
            found = session.execute(select(ChannelContact.sender_id).where(
                ChannelContact.address == number)).scalars()
            return sorted(set(found))
        known = session.execute(select(ChannelMessage.id).where(
            ChannelMessage.sender_id == query).limit(1)).first() or session.execute(
            select(CareRequest.id).where(CareRequest.sender_id == query).limit(1)).first()
    # an id with nothing in our tables may still have a conversation in the tracker store
    return [query] if known or _has_events(query) else []


def _has_events(sender_id: str) -> bool:
    return bool(export.export_sender(sender_id)["conversation_events"])


def _summary(sender_id: str) -> dict[str, int]:
    data = export.export_sender(sender_id)
    return {name: len(rows) for name, rows in data.items() if isinstance(rows, list)}


async def family_page(request: web.Request, message: str | None = None,
                      status: int = 200) -> web.Response:
    lang = lang_of(request)
    query = str(request.query.get("q", ""))[:128]
    found = []
    if query:
        for sender in await blocking(find_senders, query):
            found.append({"sender": sender, "counts": await blocking(_summary, sender),
                          "export": f"{PATH}/export?" + urlencode({"sender": sender}),
                          "download": f"family-{re.sub(r'[^A-Za-z0-9]', '_', sender)}.json"})
    return render(request, "family.html", st("family.title", lang), status=status,
                  message=message, query=query, found=found, action=PATH)


async def family_export(request: web.Request) -> web.Response:
    sender = str(request.query.get("sender", ""))[:128]
    if not sender:
        raise web.HTTPBadRequest()
    me = request["user"]["username"]
    data = await blocking(export.export_sender, sender)

    def log() -> None:
        with session_scope() as session:
            audit(session, me, "family_exported", sender, None)

    await blocking(log)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    name = re.sub(r"[^A-Za-z0-9]", "_", sender)
    return web.Response(text=body, content_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="family-{name}.json"',
        "Cache-Control": "no-store"})


async def family_delete(request: web.Request) -> web.Response:
    lang = lang_of(request)
    form = await request.post()
    sender = str(form.get("sender", ""))[:128]
    if not sender or str(form.get("confirm", "")).strip() != sender:
        return await family_page(request, st("family.confirm_mismatch", lang), 400)
    me = request["user"]["username"]
    counts = await blocking(erasure.delete_sender, sender)

    def log() -> None:
        with session_scope() as session:  # who and how much, not whose
            audit(session, me, "family_deleted", "erased",
                  ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v))

    await blocking(log)
    return see_other(PATH, "family_deleted")
