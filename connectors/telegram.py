"""Telegram through its Bot API: ``/webhooks/telegram/webhook``.

Updates are read with python-telegram-bot's types and answered with ``sendMessage`` (buttons as
an inline keyboard, numbered like the options on SMS, so that a typed "2" works too; a tap comes
back as a ``callback_query`` whose data is the button payload, answered with
``answerCallbackQuery`` in the webhook's own response, so the client stops its spinner at once
and not after the queue). Only requests carrying our secret token (``setWebhook secret_token``)
are accepted.

What a conversation learns from Telegram: ``from.language_code`` is the first language of a new
conversation whose first message does not settle it; the deep-link payload of ``/start <payload>``
(which flyer or partner sent the family) is kept on the contact for the loket; a person who
blocks the bot (``my_chat_member`` "kicked", a 403) gets nothing until they write again. A 429's
``retry_after`` is honoured (a long one: queued for then). A tap on a button we no longer know
gets "this button is no longer valid"; an edited message keeps its new text in the store and
is not answered as a new message (the conversation has moved on), with a short notice.

Only private chats are conversations. What a family tells the assistant (a child's name,
health notes) must never be read out in a group: an update from a group, supergroup or channel
is not stored and never reaches the assistant; the first message from a group gets, once,
``telegram_group.private_only`` (write to the bot in a private chat) and nothing more.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

from rasa.shared.core.events import SlotSet
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import i18n, language, redaction
from connectors import TelegramSettings, messages, optout, sms
from connectors.common import PhoneChatChannel
from connectors.http import HttpClient, retryable
from connectors.inbound import media_kind
from connectors.messages import IGNORED, Inbound
from connectors.outbox import BLOCKED, Part, PostOutcome

logger = logging.getLogger(__name__)

TELEGRAM = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_CHARS = 4096  # sendMessage text limit
MAX_CALLBACK_BYTES = 64  # callback_data limit
REF_PREFIX = "#"  # callback_data "#<reply id>:<n>" points at a stored button
START_COMMAND = "/start"  # what every Telegram user sends first
HELP_COMMAND = "/help"  # Telegram's own convention for the help keyword
GREET_PAYLOAD = "/greet"
# t.me/<bot>?start=<payload>: Telegram allows 1-64 of A-Z a-z 0-9 _ - (anything else was typed)
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
STALE_BUTTON = "channel.stale_button"
EDITED = "channel.edited_not_read"
KICKED = "kicked"  # my_chat_member status of a private chat whose person blocked the bot
FORBIDDEN = "403"  # sendMessage: "Forbidden: bot was blocked by the user" (or deactivated)
PRIVATE = "private"
GROUPS = ("group", "supergroup")  # a channel ("channel") cannot be answered sensibly
GROUP_NOTICE = "telegram_group.private_only"
UPDATE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post",
                "my_chat_member", "chat_member", "chat_join_request")


def chat_of(data: Any) -> tuple[dict[str, Any], str, dict[str, Any]] | None:
    """(chat, kind of update, the update's object) of a raw update, when it names a chat."""
    if not isinstance(data, dict):
        return None
    for kind in (*UPDATE_KINDS, "callback_query"):
        item = data.get(kind)
        if not isinstance(item, dict):
            continue
        holder = item.get("message") if kind == "callback_query" else item
        chat = holder.get("chat") if isinstance(holder, dict) else None
        if isinstance(chat, dict):
            return chat, kind, item
        return None  # a tap without its message comes from the person's own chat
    return None


def outside_private_chat(data: Any) -> bool:
    found = chat_of(data)
    return found is not None and found[0].get("type", PRIVATE) != PRIVATE


def command(text: str | None) -> tuple[str, str]:
    """("/start", "flyer-mechelen") of "/start flyer-mechelen" (also "/start@loket_bot …");
    ("", "") for a text that is no command."""
    if not text or not text.startswith("/"):
        return "", ""
    head, _, rest = text.strip().partition(" ")
    return head.split("@")[0].lower(), rest.strip()


def supported_language(code: str | None) -> str | None:
    """Ours of an IETF tag as Telegram gives it ("fr", "pt-br", "uk"), else None."""
    lang = str(code or "")[:2].lower()
    return lang if lang in i18n.SUPPORTED else None


def text_settles_language(text: str | None) -> bool:
    """Whether a first message says by itself which language it is in: a full clear message,
    or Arabic or Cyrillic letters. A greeting, "ok" or a command does not (the assistant keeps
    such a language only provisionally as well), so Telegram's language_code goes first."""
    if not text or text.startswith("/"):
        return False
    # the pipeline's detector instance (config.yml: lingua), not a second one in memory
    found = language.assess(text, language.detector("lingua"))
    return bool(found.switch or found.unsupported
                or language.script_language(language.without_loanwords(text)))


def _message_media(message: Message) -> tuple[str, Any] | None:
    """(media type, stored details) of a message that is not plain text."""
    if message.location:
        loc = message.venue.location if message.venue else message.location
        place = {"latitude": loc.latitude, "longitude": loc.longitude}
        if message.venue:
            place.update(address=message.venue.address, label=message.venue.title)
        return "location", place
    if message.sticker:
        return "sticker", [{"file_id": message.sticker.file_id, "content_type": "image/webp"}]
    if message.photo:
        biggest = max(message.photo, key=lambda p: p.width * p.height)
        return "image", [{"file_id": biggest.file_id, "content_type": "image/jpeg"}]
    for attr in ("voice", "audio"):
        item = getattr(message, attr)
        if item:
            return "audio", [{"file_id": item.file_id,
                              "content_type": item.mime_type or "audio/ogg"}]
    if message.document:
        doc = message.document
        kind = media_kind(doc.mime_type) if doc.mime_type else "document"
        return (kind if kind != "other" else "document"), [
            {"file_id": doc.file_id, "content_type": doc.mime_type,
             "file_name": doc.file_name}]
    for attr in ("video", "video_note", "animation"):
        item = getattr(message, attr)
        if item:
            return "other", [{"file_id": item.file_id,
                              "content_type": getattr(item, "mime_type", None)}]
    if message.contact:
        return "other", {"contact": message.contact.to_dict()}
    return None


class TelegramInput(PhoneChatChannel):
    channels = (TELEGRAM,)
    numbered_options = True  # the texts say "choose a number": the keyboard is numbered too

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self) -> None:
        super().__init__()
        self.settings = TelegramSettings.from_env()

    # inbound ---------------------------------------------------------------------------------

    def verify(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        secret = self.settings.secret_token
        return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())

    def ack(self, inbound: list[Inbound]) -> HTTPResponse:
        # A tap is answered in the webhook's response (Telegram's "making requests when
        # getting updates"): the spinner stops now, whatever waits in the conversation's queue.
        for message in inbound:
            query_id = (message.meta or {}).get("callback_query_id")
            if message.kind == "button" and query_id:
                return response.json({"method": "answerCallbackQuery",
                                      "callback_query_id": query_id})
        return response.json({"ok": True})

    async def not_a_conversation(self, request: Request) -> bool:
        try:
            data = request.json
        except Exception:  # not JSON: parse() refuses it
            return False
        if not outside_private_chat(data):
            return False
        chat, kind, item = chat_of(data)  # type: ignore[misc]
        logger.info("telegram: a %s update from a %s chat is no conversation; not stored",
                    kind, chat.get("type"))
        if kind == "message" and chat.get("type") in GROUPS and "id" in chat:
            sender = item.get("from") if isinstance(item.get("from"), dict) else {}
            lang = supported_language(sender.get("language_code")) or i18n.DEFAULT
            group = str(chat["id"])
            self.queues.submit(f"group:{group}",
                               lambda: self._point_to_private_chat(group, lang))
        return True

    async def _point_to_private_chat(self, chat_id: str, lang: str) -> None:
        """Once per group: the assistant talks in a private chat only."""
        if not await asyncio.to_thread(messages.first_notice, f"telegram-group:{chat_id}"):
            return
        await self.http.post(self.settings.method_url("sendMessage"), json_body={
            "chat_id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
            "text": i18n.t(GROUP_NOTICE, lang)})

    def parse(self, request: Request) -> list[Inbound]:
        data = request.json
        if not isinstance(data, dict) or "update_id" not in data:
            raise ValueError("not a Telegram update")
        if outside_private_chat(data):
            return []  # never a conversation (see the module doc)
        external_id = str(data["update_id"])

        def inbound(chat_id: int, **fields: Any) -> list[Inbound]:
            return [Inbound(channel=TELEGRAM, sender_id=f"{TELEGRAM}:{chat_id}",
                            address=str(chat_id), external_id=external_id, **fields)]

        try:
            update = Update.de_json(data, None)
        except Exception as exc:  # a shape our library version does not know: keep, no retry
            logger.warning("telegram: update %s not readable (%s); stored only", external_id,
                           exc)
            chat = next((v["chat"] for v in data.values()
                         if isinstance(v, dict) and isinstance(v.get("chat"), dict)), {})
            return inbound(chat.get("id", 0), kind="event",
                           meta={"event": "unreadable", "update": data})

        try:
            return self._classify(update, inbound)
        except AttributeError as exc:  # a field Telegram always sends is missing (chat: null)
            raise ValueError(f"incomplete telegram update {external_id}: {exc}") from exc

    @staticmethod
    def _classify(update: Update, inbound: Callable[..., list[Inbound]]) -> list[Inbound]:
        if update.callback_query:
            query = update.callback_query
            chat_id = query.message.chat.id if query.message else query.from_user.id
            return inbound(chat_id, kind="button", text=query.data or "", meta=_meta(
                query.from_user, callback_query_id=query.id))
        if update.my_chat_member:  # the person blocked or unblocked the bot
            member = update.my_chat_member
            return inbound(member.chat.id, kind="event",
                           meta={"event": "chat_member", "status": member.new_chat_member.status})
        if update.message:
            message = update.message
            media = _message_media(message)
            meta = _meta(message.from_user, message_id=message.message_id)
            if media:
                return inbound(message.chat.id, kind="media", text=message.caption,
                               media_type=media[0], media=media[1], meta=meta)
            name, payload = command(message.text)
            if name == START_COMMAND and START_PAYLOAD.fullmatch(payload):
                meta["start_payload"] = payload
            return inbound(message.chat.id, kind="text", text=message.text or "", meta=meta)
        if update.edited_message:  # its new text is kept; on_event decides the rest
            edited = update.edited_message
            return inbound(edited.chat.id, kind="event",
                           text=edited.text or edited.caption, meta=_meta(
                               edited.from_user, event="edited_message",
                               message_id=edited.message_id))
        # channel posts and other updates: kept for the record, not answered
        chat = update.effective_chat
        if chat is None:
            return []
        return inbound(chat.id, kind="event", meta={"event": "other_update"})

    def keyword(self, kind: str, text: str | None,
                meta: dict[str, Any] | None) -> optout.Keyword | None:
        if kind == "text" and command(text)[0] == HELP_COMMAND:
            lang = supported_language((meta or {}).get("language_code"))
            return optout.Keyword(optout.HELP, (lang,) if lang else ())
        return super().keyword(kind, text, meta)

    async def _text_for_rasa(self, sender_id: str, text: str,
                             state: messages.ConversationState) -> str:
        if command(text)[0] == START_COMMAND:
            return GREET_PAYLOAD  # "/start" would otherwise reach Rasa as an unknown intent
        return await super()._text_for_rasa(sender_id, text, state)  # a typed "2"

    async def _handle(self, row: dict[str, Any], state: messages.ConversationState,
                      ) -> tuple[Any, ...] | None:
        meta = row["meta"] or {}
        if row["kind"] == "button":
            payload = await self._button_payload(row["text"] or "")
            if payload is None:  # a keyboard of a reply we no longer know (or an empty tap)
                await self.notify(row, STALE_BUTTON, "s",
                                  supported_language(meta.get("language_code")))
                return IGNORED, None, "stale_button"
            row = {**row, "text": payload}
        if row["kind"] != "event":
            await self._note_first_message(row, meta)
        return await super()._handle(row, state)

    async def _button_payload(self, data: str) -> str | None:
        """The payload a tap stands for: its data, or the stored button a reference points
        at; None when neither is there."""
        if not data.startswith(REF_PREFIX):
            return data or None
        reply_id, _, index = data[len(REF_PREFIX):].partition(":")
        buttons = await asyncio.to_thread(messages.reply_buttons, reply_id)
        try:
            return str(buttons[int(index)]["payload"]) or None
        except (ValueError, IndexError, KeyError, TypeError):
            return None

    async def _note_first_message(self, row: dict[str, Any], meta: dict[str, Any]) -> None:
        """The deep link a family came through; Telegram's language for a new conversation
        (before its first turn, so the first answer is in it)."""
        sender_id = row["sender_id"]
        if meta.get("start_payload"):
            await asyncio.to_thread(messages.set_started_from, sender_id, meta["start_payload"])
        lang = supported_language(meta.get("language_code"))
        if lang is None or not await asyncio.to_thread(messages.first_message, sender_id,
                                                       row["id"]):
            return  # the cheap check first: most messages are not a conversation's first
        if not (row["kind"] == "text" and text_settles_language(row["text"])):
            await self._first_language(sender_id, lang)

    async def _first_language(self, sender_id: str, lang: str) -> None:
        """``lang`` as the conversation's language, provisional: a clear full message later
        still sets it (bot/actions/base.py). Under the conversation's lock, as Rasa's own
        ``POST /tracker/events`` does; a conversation that has a language keeps it."""
        agent = self._agent()
        if agent is None:
            return
        async with agent.lock_store.lock(sender_id):
            tracker = await agent.processor.fetch_tracker_with_initial_session(sender_id)
            if tracker.get_slot("language") is not None:
                return
            for event in (SlotSet("language", lang), SlotSet("language_provisional", True)):
                tracker.update(event, agent.domain)
            await agent.tracker_store.save(tracker)
        logger.info("telegram: %s starts in %s (language_code)",
                    redaction.pseudonym(sender_id), lang)

    async def on_event(self, message: dict[str, Any]) -> str | None:
        meta = message["meta"] or {}
        event, sender_id = meta.get("event"), message["sender_id"]
        if event == "chat_member":
            blocked = meta.get("status") == KICKED
            await asyncio.to_thread(messages.set_blocked, sender_id, KICKED if blocked else None)
            return BLOCKED if blocked else "unblocked"
        if event == "edited_message":
            original = await asyncio.to_thread(messages.inbound_with, sender_id, "message_id",
                                               meta.get("message_id"), message["id"])
            if original and original["text"] == redaction.BLANKED:
                # it answered a health or allergy question: its new text is not kept either
                await asyncio.to_thread(messages.blank_inbound, message["id"], redaction.BLANKED)
            await self.notify(message, EDITED, "e", supported_language(meta.get("language_code")))
            return "edited"
        return None

    # outbound --------------------------------------------------------------------------------

    def optout_key(self, message: dict[str, Any]) -> str:
        return f"{TELEGRAM}:{message['address']}"

    def route(self, sender_id: str) -> tuple[str, str]:
        channel, _, address = sender_id.partition(":")
        if channel != TELEGRAM or not address:
            raise ValueError(f"not a Telegram conversation: {sender_id!r}")
        return channel, address

    @staticmethod
    def keyboard(buttons: list[dict], reply_id: str) -> dict[str, Any]:
        """One button a row, numbered "1. …" as on SMS: the texts ask for a number."""
        rows = []
        for index, button in enumerate(buttons):
            data = button["payload"]
            if len(data.encode()) > MAX_CALLBACK_BYTES or data.startswith(REF_PREFIX):
                data = f"{REF_PREFIX}{reply_id}:{index}"
            rows.append([InlineKeyboardButton(f"{index + 1}. {button['title']}",
                                              callback_data=data)])
        return InlineKeyboardMarkup(rows).to_dict()

    def split(self, channel: str, text: str, buttons: list[dict]) -> list[Part]:
        chunks = sms.split_chars(text, MAX_CHARS) or [""]
        return [Part(c, n, buttons if n == len(chunks) else [])
                for n, c in enumerate(chunks, 1)]

    async def post_part(self, channel: str, address: str, part: Part, reply_id: str,
                        http: HttpClient) -> PostOutcome:
        payload: dict[str, Any] = {"chat_id": int(address) if address.lstrip("-").isdigit()
                                   else address, "text": part.text}
        if part.buttons:
            payload["reply_markup"] = self.keyboard(part.buttons, reply_id)
        result = await http.post(self.settings.method_url("sendMessage"), json_body=payload)
        body = result.body if isinstance(result.body, dict) else {}
        if result.ok and body.get("ok", True):
            message_id = (body.get("result") or {}).get("message_id")
            # message ids count per chat: chat id + message id is unique
            return PostOutcome(True, False, result.attempts, external_id=(
                f"{address}:{message_id}" if message_id is not None else None))
        code = str(body.get("error_code") or result.status or "no_response")
        logger.error("telegram: sending to %s failed: %s %s", redaction.pseudonym(address),
                     code, body.get("description", ""))
        status = int(code) if code.isdigit() else result.status
        return PostOutcome(False, retryable(status), result.attempts, code=code[:32],
                           reason=BLOCKED if code == FORBIDDEN else "provider_error",
                           retry_after=result.retry_after)

    async def after_failure(self, sender_id: str, address: str, outcome: PostOutcome) -> None:
        if outcome.code == FORBIDDEN:  # blocked (or the account is gone): stop sending
            await asyncio.to_thread(messages.set_blocked, sender_id, FORBIDDEN)


def _meta(user: Any, **fields: Any) -> dict[str, Any]:
    """A message's stored details, with the sender's Telegram language when it has one."""
    code = getattr(user, "language_code", None) if user is not None else None
    return {**fields, "language_code": code} if code else dict(fields)
