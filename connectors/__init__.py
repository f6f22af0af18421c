"""Our own Rasa channels: WhatsApp and SMS through Twilio, Telegram through its Bot API.

Configured only by environment variables (docs/CHANNELS.md). A channel whose variables are not
set is off. This module stays light (no Rasa import): ``bot/serve.py`` calls
``enabled_channels()`` to write the channel entries of ``credentials.yml``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

TWILIO_CHANNEL = "connectors.twilio.TwilioInput"
TELEGRAM_CHANNEL = "connectors.telegram.TelegramInput"
REST_CHANNEL = "connectors.rest.RestChannel"
WEBCHAT_CHANNEL = "connectors.rest.WebChatChannel"
REST_MODES = ("open", "token", "off")
# conversation ids of the channels (``<prefix>:<address>``): on the REST channel they would let
# anyone who knows a family's phone number speak as that family
RESERVED_PREFIXES = ("whatsapp", "sms", "telegram", "webchat", "twilio")
DEFAULT_TWILIO_API = "https://api.twilio.com"
DEFAULT_TELEGRAM_API = "https://api.telegram.org"
# Purposes of the approved WhatsApp templates (Twilio Content API), one ContentSid per purpose
# and language, outside the 24-hour window: a loket worker's reply, a care request's news
TEMPLATE_PURPOSES = ("staff_reply", "request_update")
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")

_logged: set[str] = set()


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_sms: str
    from_whatsapp: str
    api_base: str
    webhook_url: str  # the public URL Twilio signs; "" = the URL of the request
    # purpose -> language -> ContentSid (TWILIO_WHATSAPP_TEMPLATES)
    templates: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def template(self, purpose: str, lang: str) -> str | None:
        """The approved template for ``purpose`` in ``lang`` (else in Dutch, the loket's own
        language: a family still learns there is news and that answering opens it)."""
        by_lang = self.templates.get(purpose) or {}
        return by_lang.get(lang) or by_lang.get("nl")

    @classmethod
    def from_env(cls) -> TwilioSettings:
        whatsapp = _env("TWILIO_FROM_WHATSAPP")
        if whatsapp and not whatsapp.startswith("whatsapp:"):
            whatsapp = f"whatsapp:{whatsapp}"
        return cls(
            account_sid=_env("TWILIO_ACCOUNT_SID"), auth_token=_env("TWILIO_AUTH_TOKEN"),
            from_sms=_env("TWILIO_FROM_SMS"), from_whatsapp=whatsapp,
            api_base=(_env("TWILIO_API_BASE") or DEFAULT_TWILIO_API).rstrip("/"),
            webhook_url=_env("TWILIO_WEBHOOK_URL"),
            templates=whatsapp_templates(_env("TWILIO_WHATSAPP_TEMPLATES")),
        )

    def missing(self) -> list[str]:
        names = [n for n, v in (("TWILIO_ACCOUNT_SID", self.account_sid),
                                ("TWILIO_AUTH_TOKEN", self.auth_token)) if not v]
        if not (self.from_sms or self.from_whatsapp):
            names.append("TWILIO_FROM_SMS or TWILIO_FROM_WHATSAPP")
        return names


def whatsapp_templates(value: str) -> dict[str, dict[str, str]]:
    """``TWILIO_WHATSAPP_TEMPLATES``: inline JSON or the path of a YAML/JSON file,
    ``{purpose: {language: ContentSid}}`` (the ids Twilio's Content Template Builder gives the
    approved templates). Entries that are no ContentSid or no known purpose are left out,
    with a warning: a typo must not send a wrong template."""
    if not value:
        return {}
    try:
        if value.lstrip().startswith("{"):
            raw = json.loads(value)
        else:
            import yaml

            raw = yaml.safe_load(Path(value).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.error("TWILIO_WHATSAPP_TEMPLATES unreadable (%s): no templates", exc)
        return {}
    out: dict[str, dict[str, str]] = {}
    for purpose, by_lang in (raw or {}).items() if isinstance(raw, dict) else ():
        if purpose not in TEMPLATE_PURPOSES or not isinstance(by_lang, dict):
            logger.warning("TWILIO_WHATSAPP_TEMPLATES: unknown purpose %r left out", purpose)
            continue
        for lang, sid in by_lang.items():
            if isinstance(sid, str) and CONTENT_SID.fullmatch(sid.strip()):
                out.setdefault(purpose, {})[str(lang)] = sid.strip()
            else:
                logger.warning("TWILIO_WHATSAPP_TEMPLATES: %s.%s is no ContentSid", purpose,
                               lang)
    return out


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    secret_token: str
    api_base: str

    def method_url(self, method: str) -> str:
        return f"{self.api_base}/bot{self.token}/{method}"

    @classmethod
    def from_env(cls) -> TelegramSettings:
        return cls(token=_env("TELEGRAM_TOKEN"), secret_token=_env("TELEGRAM_SECRET_TOKEN"),
                   api_base=(_env("TELEGRAM_API_BASE") or DEFAULT_TELEGRAM_API).rstrip("/"))

    def missing(self) -> list[str]:
        # No secret, no channel: without it anyone could post updates in a family's name.
        return [n for n, v in (("TELEGRAM_TOKEN", self.token),
                               ("TELEGRAM_SECRET_TOKEN", self.secret_token)) if not v]


def _log_once(key: str, level: int, message: str, *args: object) -> None:
    if key not in _logged:
        _logged.add(key)
        logger.log(level, message, *args)


def rest_mode() -> str:
    """``BOT_REST_CHANNEL``: ``open`` (anyone who reaches the Rasa server), ``token`` (the
    Rasa API token as ``Authorization: Bearer``) or ``off``. Default: open while the Rasa
    server listens on loopback only (RASA_INTERFACE unset), token when it listens elsewhere."""
    mode = _env("BOT_REST_CHANNEL").lower()
    if mode in REST_MODES:
        return mode
    if mode:
        raise SystemExit(f"BOT_REST_CHANNEL={mode!r}: one of {', '.join(REST_MODES)}")
    from bot.rasa_server import interface, loopback

    return "open" if loopback(interface()) else "token"


def local_channels() -> dict[str, dict]:
    """``credentials.yml`` entries of the channels of our own tools: the web chat (the inbox,
    always with the token) and the REST channel unless it is off."""
    channels: dict[str, dict] = {WEBCHAT_CHANNEL: {}}
    mode = rest_mode()
    if mode != "off":
        channels[REST_CHANNEL] = {}
    _log_once("rest", logging.INFO, "REST channel: %s", mode)
    return channels


def enabled_channels() -> dict[str, dict]:
    """``credentials.yml`` entries of the channels whose environment is complete."""
    channels: dict[str, dict] = {}
    for key, label, settings in (
        (TWILIO_CHANNEL, "twilio (WhatsApp/SMS)", TwilioSettings.from_env()),
        (TELEGRAM_CHANNEL, "telegram", TelegramSettings.from_env()),
    ):
        missing = settings.missing()
        if not missing:
            channels[key] = {}
            _log_once(key, logging.INFO, "channel %s is on", label)
            continue
        # Half a configuration is a mistake worth a warning; none at all is the local default.
        partial = any(str(v) for n, v in vars(settings).items()
                      if n not in ("api_base", "templates") and v)
        _log_once(key, logging.WARNING if partial else logging.INFO,
                  "channel %s is off: %s not set", label, ", ".join(missing))
    return channels
