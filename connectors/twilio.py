"""WhatsApp and SMS through Twilio: ``/webhooks/twilio/webhook`` (and ``/status``).

Better than Rasa's own Twilio channel (docs/CHANNELS.md): the signature is checked, a repeated
delivery of a MessageSid is dropped, Twilio gets its empty TwiML at once while the assistant
answers in the background through the REST API (never in the webhook response), sending is
asynchronous with retries, buttons become numbered options, long SMS are cut at sentence ends,
and WhatsApp's 24-hour window is respected: outside it, a staff reply or a status update sends
the approved template (Content API) and the message itself once the family answers, or an SMS
to the number the family gave.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiohttp
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot import i18n, loket, redaction
from connectors import TwilioSettings, messages, optout, sms
from connectors.common import PhoneChatChannel
from connectors.http import HttpClient, retryable
from connectors.inbound import media_kind
from connectors.messages import FAILED, NOT_SENT, QUEUED, SENT, TEMPLATE, Inbound
from connectors.outbox import STAFF_REPLY, Part, PostOutcome

logger = logging.getLogger(__name__)

SMS, WHATSAPP = "sms", "whatsapp"
WHATSAPP_WINDOW = timedelta(hours=24)
WHATSAPP_MAX_CHARS = 1600  # Twilio's limit for one message body on every channel
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
ERROR_UNSUBSCRIBED = "21610"  # Twilio's own STOP handling blocked this number
ERROR_OUTSIDE_WINDOW = "63016"  # WhatsApp free-form message outside the 24-hour window
REQUEST_UPDATE = "request_update"  # purpose of a template: news about a care request
# Advanced Opt-Out (a Messaging Service) answered the keyword itself and says which kind it was
OPT_OUT_TYPES = {"STOP": optout.OPTOUT, "START": optout.OPTIN, "HELP": optout.HELP}


def _twilio_time(value: Any) -> datetime | None:
    """Twilio's RFC 2822 date ("Thu, 30 Jul 2015 20:12:31 +0000") as naive UTC."""
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


class _Form(dict):
    """Form fields with all their values; ``getlist`` is what Twilio's validator reads."""

    def getlist(self, key: str) -> list[str]:
        return self[key]


def _form(request: Request) -> _Form:
    # Parsed here, not with request.form: Sanic drops empty fields ("Body=" of a photo without
    # a caption), and Twilio signs them.
    body = (request.body or b"").decode("utf-8", errors="replace")
    return _Form(parse_qs(body, keep_blank_values=True))


def _first(form: _Form, key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def _sibling_url(url: str, last_segment: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/", 1)[0] + "/" + last_segment
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class TwilioInput(PhoneChatChannel):
    channels = (SMS, WHATSAPP)
    numbered_options = True

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self) -> None:
        super().__init__()
        self.settings = TwilioSettings.from_env()
        self.validator = RequestValidator(self.settings.auth_token)
        self.auth = aiohttp.BasicAuth(self.settings.account_sid, self.settings.auth_token)

    # inbound ---------------------------------------------------------------------------------

    def public_url(self, request: Request) -> str:
        """The URL Twilio signed: TWILIO_WEBHOOK_URL behind a proxy, else the request's."""
        configured = self.settings.webhook_url
        if not configured:
            return request.url
        last = request.path.rstrip("/").rsplit("/", 1)[-1]
        return configured if last == "webhook" else _sibling_url(configured, last)

    def verify(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self.settings.auth_token:
            return False
        return bool(self.validator.validate(self.public_url(request), _form(request),
                                            signature))

    def ack(self, inbound: list[Inbound]) -> HTTPResponse:
        return response.text(TWIML_EMPTY, content_type="text/xml")

    def parse(self, request: Request) -> list[Inbound]:
        form = _form(request)
        sid = _first(form, "MessageSid") or _first(form, "SmsMessageSid")
        sender = _first(form, "From")
        if not sid or not sender:
            raise ValueError("MessageSid and From are required")
        channel, address = (WHATSAPP, sender[len("whatsapp:"):]) \
            if sender.startswith("whatsapp:") else (SMS, sender)
        meta = {k: _first(form, v) for k, v in (
            ("to", "To"), ("profile_name", "ProfileName"), ("wa_id", "WaId"),
            ("num_segments", "NumSegments"), ("button_text", "ButtonText"),
            ("opt_out_type", "OptOutType"),
        ) if _first(form, v)}
        body = _first(form, "Body")
        common = {"channel": channel, "sender_id": f"{channel}:{address}", "address": address,
                  "external_id": sid, "text": body, "meta": meta or None}
        latitude, longitude = _first(form, "Latitude"), _first(form, "Longitude")
        if latitude and longitude:
            place = {"latitude": latitude, "longitude": longitude,
                     "address": _first(form, "Address") or None,
                     "label": _first(form, "Label") or None}
            return [Inbound(kind="media", media_type="location", media=place, **common)]
        count = int(_first(form, "NumMedia") or 0)
        if count > 0:
            media = [{"url": _first(form, f"MediaUrl{i}"),
                      "content_type": _first(form, f"MediaContentType{i}")}
                     for i in range(count)]
            content_type = media[0]["content_type"].lower()
            kind = "sticker" if channel == WHATSAPP and content_type == "image/webp" \
                else media_kind(content_type)
            return [Inbound(kind="media", media_type=kind, media=media, **common)]
        payload = _first(form, "ButtonPayload")  # a WhatsApp quick-reply button
        if payload:
            return [Inbound(**{**common, "text": payload}, kind="button")]
        return [Inbound(kind="text", **common)]

    def extra_routes(self, blueprint: Blueprint) -> None:
        @blueprint.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            """Twilio's delivery report for a message we sent (StatusCallback)."""
            if not self.verify(request):
                return response.text("forbidden", status=403)
            form = _form(request)
            sid, state = _first(form, "MessageSid"), _first(form, "MessageStatus")
            if sid and state:
                code = _first(form, "ErrorCode") or None
                moved = await asyncio.to_thread(messages.update_delivery, self.channels, sid,
                                                state[:16], code)
                if moved and code == ERROR_OUTSIDE_WINDOW:
                    await self._outside_window_later(sid)  # queued: Twilio is answered now
                if code == ERROR_UNSUBSCRIBED:
                    to = _first(form, "To").removeprefix("whatsapp:")
                    await asyncio.to_thread(messages.set_opted_out, to, True, "twilio:21610")
            return response.empty()

    async def _outside_window_later(self, sid: str) -> None:
        """Twilio took a free-form WhatsApp message and then failed it with 63016 (our clock
        thought the window open): it is dealt with as if we had known (reach_later)."""
        row = await asyncio.to_thread(messages.by_external_id, (WHATSAPP,), sid)
        if row is None or row["kind"] == TEMPLATE:
            return

        async def job() -> None:  # in the conversation's queue: in order with its messages
            await self._reach_after_63016(row)

        self.queues.submit(row["sender_id"], job)

    async def _reach_after_63016(self, row: dict[str, Any]) -> None:
        copy = await asyncio.to_thread(
            messages.record_outbound, WHATSAPP, row["sender_id"], row["address"],
            row["text"] or "", QUEUED, reason="outside_24h_window",
            buttons=row["buttons"], reply_id=row["reply_id"], part=row["part"],
            in_reply_to=row["in_reply_to"])
        copied = await asyncio.to_thread(messages.get, copy)
        assert copied is not None
        if not await self.reach_later(row["sender_id"], WHATSAPP, row["address"],
                                      row["text"] or "", list(row["buttons"] or []),
                                      row["reply_id"] or uuid.uuid4().hex, row["in_reply_to"],
                                      None, row=copied):
            await asyncio.to_thread(messages.settle_outbound, copy, NOT_SENT,
                                    reason="outside_24h_window")

    def provider_keyword(self, meta: dict[str, Any] | None) -> optout.Keyword | None:
        # Twilio blocked (or unblocked) the number and sent its own reply before we saw the
        # message: a confirmation of ours would fail with 21610 or come twice (docs/CHANNELS.md)
        kind = OPT_OUT_TYPES.get(str((meta or {}).get("opt_out_type") or "").upper())
        return optout.Keyword(kind, ()) if kind else None

    # outbound --------------------------------------------------------------------------------

    def optout_key(self, message: dict[str, Any]) -> str:
        return message["address"]  # the phone number: STOP on SMS also stops WhatsApp

    def route(self, sender_id: str) -> tuple[str, str]:
        channel, _, address = sender_id.partition(":")
        if channel not in self.channels or not address:
            raise ValueError(f"not a Twilio conversation: {sender_id!r}")
        return channel, address

    async def hold_reason(self, sender_id: str, channel: str,
                          last_inbound_at: datetime | None) -> str | None:
        if not (self.settings.from_whatsapp if channel == WHATSAPP else self.settings.from_sms):
            return "no_sender_configured"
        if channel == WHATSAPP:
            last = last_inbound_at
            if last is None or messages.utcnow() - last > WHATSAPP_WINDOW:
                return "outside_24h_window"
        return None

    def split(self, channel: str, text: str, buttons: list[dict]) -> list[Part]:
        # the options ride in the text: "1. …" lines (the buttons are kept for the record)
        body = sms.with_options(text, [b["title"] for b in buttons])
        if channel == SMS:
            chunks = sms.split_sms(body)
        else:
            chunks = [sms.SmsPart(p, "", 0) for p in sms.split_chars(body, WHATSAPP_MAX_CHARS)]
        last = len(chunks)
        return [Part(c.text, n, buttons if n == last else [],
                     c.segments if channel == SMS else None,
                     c.encoding if channel == SMS else None)
                for n, c in enumerate(chunks, 1)]

    async def post_part(self, channel: str, address: str, part: Part, reply_id: str,
                        http: HttpClient) -> PostOutcome:
        return await self._post(channel, address, {"Body": part.text}, http)

    async def _post(self, channel: str, address: str, content: dict[str, str],
                    http: HttpClient) -> PostOutcome:
        """One message to Twilio: ``content`` is a ``Body`` or a template (``ContentSid``
        and ``ContentVariables``)."""
        sender = self.settings.from_whatsapp if channel == WHATSAPP else self.settings.from_sms
        to = f"whatsapp:{address}" if channel == WHATSAPP else address
        form = {"To": to, "From": sender, **content}
        if self.settings.webhook_url:
            form["StatusCallback"] = _sibling_url(self.settings.webhook_url, "status")
        result = await http.post(self.settings.messages_url, data=form, auth=self.auth)
        body = result.body if isinstance(result.body, dict) else {}
        if result.ok:
            return PostOutcome(True, False, result.attempts, external_id=body.get("sid"),
                               delivery=body.get("status"))
        code = str(body.get("code") or result.status or "no_response")
        reason = {ERROR_UNSUBSCRIBED: "unsubscribed_at_twilio",
                  ERROR_OUTSIDE_WINDOW: "outside_24h_window"}.get(code, "provider_error")
        logger.error("twilio: sending to %s failed: %s %s", redaction.pseudonym(address),
                     code, body.get("message", ""))
        return PostOutcome(False, retryable(result.status), result.attempts, code=code[:32],
                           reason=reason, retry_after=result.retry_after)

    # outside WhatsApp's 24-hour window ------------------------------------------------------

    async def reach_later(self, sender_id: str, channel: str, address: str, text: str,
                          buttons: list[dict], reply_id: str, in_reply_to: int | None,
                          purpose: str | None, row: dict[str, Any] | None = None) -> bool:
        """Outside the window a free-form WhatsApp message is refused (63016). With an approved
        template for the purpose in the family's language: the message is kept (``queued``,
        ``awaiting_answer``) and the template goes out, once while the family has not answered
        yet ("there is news … reply to read it"); its answer opens the window and releases the
        message (``PhoneChatChannel._released``). Without a template: an SMS to the number the
        family gave in its snelfiche. Neither: False (recorded ``outside_24h_window``)."""
        if channel != WHATSAPP:
            return False
        request = await asyncio.to_thread(messages.family_request, sender_id)
        purpose = purpose or (REQUEST_UPDATE if request.reference else STAFF_REPLY)
        if purpose == REQUEST_UPDATE and not request.reference:
            purpose = STAFF_REPLY
        lang = await self.conversation_language(sender_id) or i18n.DEFAULT
        template = self.settings.template(purpose, lang)
        if template:
            # the template first: it is what the family sees, and a queued one (Twilio down)
            # must go out before the messages that wait behind it
            if not await asyncio.to_thread(messages.awaiting, sender_id) and \
                    not await self._send_template(sender_id, address, template, purpose, lang,
                                                  request.reference):
                if row is not None:
                    await asyncio.to_thread(messages.settle_outbound, row["id"], NOT_SENT,
                                            reason="template_failed")
                else:
                    await self.hold(WHATSAPP, sender_id, address, text, buttons, reply_id,
                                    "template_failed", in_reply_to)
                return True
            await self._keep_for_answer(sender_id, address, text, buttons, reply_id,
                                        in_reply_to, row)
            return True
        phone = request.phone
        if phone and self.settings.from_sms:
            logger.info("twilio: no template for %s/%s; SMS to the number the family gave",
                        purpose, lang)
            if row is not None:
                await asyncio.to_thread(messages.settle_outbound, row["id"], NOT_SENT,
                                        reason="sent_by_sms")
            state = messages.ConversationState(False, [], None, False)
            await self.send(sender_id, SMS, phone, text, buttons, reply_id, state, in_reply_to)
            return True
        return False

    async def _keep_for_answer(self, sender_id: str, address: str, text: str,
                               buttons: list[dict], reply_id: str, in_reply_to: int | None,
                               row: dict[str, Any] | None) -> None:
        if row is not None:
            await asyncio.to_thread(messages.keep_for_answer, row["id"])
            return
        for part in self.split(WHATSAPP, text, buttons):
            copy = await asyncio.to_thread(
                messages.record_outbound, WHATSAPP, sender_id, address, part.text, QUEUED,
                reason=messages.AWAITING_ANSWER, buttons=part.buttons or None,
                reply_id=reply_id, part=part.number, in_reply_to=in_reply_to)
            await asyncio.to_thread(messages.keep_for_answer, copy)

    async def _send_template(self, sender_id: str, address: str, content_sid: str,
                             purpose: str, lang: str, reference: str | None) -> bool:
        """The approved template; its one variable is the request's reference (news about a
        request) or the loket's name (a worker's message). False when Twilio refused it (a
        wrong id, a template not approved): nothing would ever open the window then."""
        if purpose == REQUEST_UPDATE and reference:
            value, text = reference, i18n.t(f"whatsapp_template.{purpose}", lang,
                                            reference=reference)
        else:
            value = loket.load().name
            text = i18n.t(f"whatsapp_template.{STAFF_REPLY}", lang, name=value)
        content = {"ContentSid": content_sid,
                   "ContentVariables": json.dumps({"1": value}, ensure_ascii=False)}
        outcome = await self._post(WHATSAPP, address, content, self.http)
        fields: dict[str, Any] = {"kind": TEMPLATE, "reply_id": uuid.uuid4().hex, "part": 1,
                                  "attempts": outcome.attempts, "meta": {"content": content}}
        if outcome.ok:
            await self._record(WHATSAPP, sender_id, address, text, SENT,
                               external_id=outcome.external_id, delivery=outcome.delivery,
                               **fields)
        elif outcome.retry:  # Twilio down: the outbox sends it, the message waits behind
            await self._record(WHATSAPP, sender_id, address, text, QUEUED,
                               reason="provider_unavailable", error_code=outcome.code,
                               next_attempt_at=outcome.next_attempt(), **fields)
        else:
            await self._record(WHATSAPP, sender_id, address, text, FAILED,
                               reason=outcome.reason, error_code=outcome.code, **fields)
        return outcome.ok or outcome.retry

    async def taken_before(self, row: dict[str, Any]) -> PostOutcome | None:
        """Twilio's Message list (the same To and From, sent since the day the part was
        recorded): a message with the part's body, created after it was recorded, whose sid
        we do not know yet, is the one the dead worker handed over. Twilio has no idempotency
        key for messages; this look-up is what stands in for one."""
        channel, address = row["channel"], row["address"]
        sender = self.settings.from_whatsapp if channel == WHATSAPP else self.settings.from_sms
        to = f"whatsapp:{address}" if channel == WHATSAPP else address
        since = row["created_at"] - timedelta(seconds=5)  # Twilio's clock against ours
        result = await self.resend_http.get(self.settings.messages_url, params={
            "To": to, "From": sender, "DateSent>": since.date().isoformat(),
            "PageSize": "50"}, auth=self.auth)
        listed = (result.body or {}).get("messages") if isinstance(result.body, dict) else None
        if not result.ok or not isinstance(listed, list):
            return None  # cannot tell: better a second copy than a lost message
        for message in listed:
            if not isinstance(message, dict) or message.get("body") != (row["text"] or ""):
                continue
            created = _twilio_time(message.get("date_created"))
            sid = str(message.get("sid") or "")
            if not sid or created is None or created < since:
                continue
            if await asyncio.to_thread(messages.by_external_id, self.channels, sid) is None:
                return PostOutcome(True, False, 0, external_id=sid,
                                   delivery=str(message.get("status") or "") or None)
        return None

    async def post_stored(self, row: dict[str, Any], http: HttpClient) -> PostOutcome:
        content = (row["meta"] or {}).get("content") if row["kind"] == TEMPLATE else None
        if content:
            return await self._post(row["channel"], row["address"], dict(content), http)
        return await super().post_stored(row, http)

    async def after_failure(self, sender_id: str, address: str, outcome: PostOutcome) -> None:
        if outcome.code == ERROR_UNSUBSCRIBED:  # Twilio honoured an English STOP we did not see
            await asyncio.to_thread(messages.set_opted_out, address, True, "twilio:21610",
                                    sender_id)
