"""Telegram through its Bot API: ``/webhooks/telegram/webhook``.

Updates are read with python-telegram-bot's types and answered with ``sendMessage`` (buttons as
an inline keyboard; a tap comes back as a ``callback_query`` whose data is the button payload
and is answered with ``answerCallbackQuery`` so the client stops its spinner). Only requests
carrying our secret token (``setWebhook secret_token``) are accepted.

Only private chats are conversations. What a family tells the assistant (a child's name,
health notes) must never be read out in a group: an update from a group, supergroup or channel
is not stored and never reaches the assistant; the first message from a group gets, once,
``telegram_group.private_only`` (write to the bot in a private chat) and nothing more.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import i18n, messages, redaction
from bot.messages import Inbound
from connectors import TelegramSettings, sms
from connectors.common import (
    HttpClient,
    Part,
    PhoneChatChannel,
    PostOutcome,
    media_kind,
    retryable,
)

logger = logging.getLogger(__name__)

TELEGRAM = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_CHARS = 4096  # sendMessage text limit
MAX_CALLBACK_BYTES = 64  # callback_data limit
REF_PREFIX = "#"  # callback_data "#<reply id>:<n>" points at a stored button
START_COMMAND = "/start"  # what every Telegram user sends first
GREET_PAYLOAD = "/greet"
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

    def ack(self) -> HTTPResponse:
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
            lang = str(sender.get("language_code") or "")[:2].lower()
            group = str(chat["id"])
            self.queues.submit(f"group:{group}", lambda: self._point_to_private_chat(
                group, lang if lang in i18n.SUPPORTED else i18n.DEFAULT))
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
            return inbound(chat_id, kind="button", text=query.data or "",
                           meta={"callback_query_id": query.id})
        if update.my_chat_member:  # the person blocked or unblocked the bot
            member = update.my_chat_member
            return inbound(member.chat.id, kind="event",
                           meta={"event": "chat_member", "status": member.new_chat_member.status})
        if update.message:
            message = update.message
            media = _message_media(message)
            meta = {"message_id": message.message_id}
            if media:
                return inbound(message.chat.id, kind="media", text=message.caption,
                               media_type=media[0], media=media[1], meta=meta)
            return inbound(message.chat.id, kind="text", text=message.text or "", meta=meta)
        # edited messages, channel posts…: kept for the record, not answered
        chat = update.effective_chat
        if chat is None:
            return []
        return inbound(chat.id, kind="event", meta={"event": "other_update"})

    async def before_processing(self, message: dict[str, Any]) -> None:
        query_id = (message.get("meta") or {}).get("callback_query_id")
        if query_id:  # stops the spinner on the tapped button; failure does not matter
            await self.http.post(self.settings.method_url("answerCallbackQuery"),
                                 json_body={"callback_query_id": query_id})

    async def _text_for_rasa(self, sender_id: str, text: str,
                             state: messages.ConversationState) -> str:
        if text.split(maxsplit=1)[0].split("@")[0] == START_COMMAND:
            return GREET_PAYLOAD  # "/start" would otherwise reach Rasa as an unknown intent
        return text

    async def _handle(self, row: dict[str, Any]) -> tuple[str, str | None, str | None] | None:
        if row["kind"] == "button" and (row["text"] or "").startswith(REF_PREFIX):
            row = {**row, "text": await self._resolve_ref(row["text"])}
        return await super()._handle(row)

    async def _resolve_ref(self, data: str) -> str:
        reply_id, _, index = data[len(REF_PREFIX):].partition(":")
        buttons = await asyncio.to_thread(messages.reply_buttons, reply_id)
        try:
            return buttons[int(index)]["payload"]
        except (ValueError, IndexError, KeyError):
            return ""

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
        rows = []
        for index, button in enumerate(buttons):
            data = button["payload"]
            if len(data.encode()) > MAX_CALLBACK_BYTES or data.startswith(REF_PREFIX):
                data = f"{REF_PREFIX}{reply_id}:{index}"
            rows.append([InlineKeyboardButton(button["title"], callback_data=data)])
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
        return PostOutcome(False, retryable(status), result.attempts, code=code[:32])
