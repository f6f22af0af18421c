"""Channel building blocks without a running assistant: SMS encoding and splitting, numbered
options, opt-out words, the message store, sending with retries, which channels are on."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml
from fakes import FakeTelegram, FakeTwilio
from fakes.server import Scripted
from serving import free_port

import connectors
from bot import db, i18n
from connectors import messages, optout, sms
from connectors.http import HttpClient
from connectors.inbound import media_kind, share_media_payload

# --- SMS -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Hallo, hoe gaat het? Prijs: 5 €", sms.GSM7),
    ("Crèche à Mechelen, ÄÖÜ äöü ñ", sms.GSM7),
    ("Ça va être possible", sms.UCS2),  # ê is not GSM-7
    ("مرحبا", sms.UCS2),
    ("Привіт", sms.UCS2),
    ("Merhaba, ücret ne kadar? Şu an", sms.UCS2),  # Ş
    ("ok 👍", sms.UCS2),
])
def test_encoding(text: str, expected: str) -> None:
    assert sms.encoding(text) == expected


def test_segments_follow_the_gsm_and_ucs2_limits() -> None:
    assert sms.segments("") == 0
    assert [sms.segments("a" * n) for n in (160, 161, 306, 307)] == [1, 2, 2, 3]
    assert [sms.segments("ب" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert sms.length("{}€") == 6  # extension characters take two septets
    assert sms.segments("a" * 152 + "€") == 1  # 154 septets fit in one SMS of 160
    # an escape pair is never cut between segments: 152 + 2 does not fit in 153
    assert sms.segments("a" * 152 + "€" + "a" * 10) == 2
    assert sms.segments("😀" * 35) == 1 and sms.segments("😀" * 36) == 2  # surrogate pairs


def test_short_text_is_one_sms() -> None:
    [part] = sms.split_sms("Hallo! Waarmee kan ik helpen?")
    assert part == sms.SmsPart("Hallo! Waarmee kan ik helpen?", sms.GSM7, 1)


def test_arabic_text_is_split_at_sentence_ends_into_ucs2_parts() -> None:
    text = ("الرعاية المنزلية هي رعاية عند مربية في بيتها، مع مجموعة صغيرة من الأطفال. "
            "تدفع حسب دخلك في أغلب الأماكن. المكتب يساعدك في البحث عن مكان قريب من بيتك. "
            "هل تريد أن نبحث معًا عن مكان حر؟ يمكنك أيضًا أن تسأل عن السعر أو عن الأولوية.")
    assert sms.length(text) > 3 * 67
    parts = sms.split_sms(text, max_segs=3)
    assert len(parts) >= 2
    assert all(p.encoding == sms.UCS2 and p.segments <= 3 for p in parts)
    assert all(sms.length(p.text) <= 3 * 67 for p in parts)
    # nothing lost, and every cut but the last falls after a sentence end
    assert " ".join(p.text for p in parts).split() == text.split()
    assert all(p.text[-1] in ".!?؟" for p in parts[:-1])


def test_split_prefers_sentences_then_spaces_and_keeps_option_numbers() -> None:
    text = "Eerste zin is kort. " + "woord " * 40 + "\n\n1. Een\n2. Twee"
    parts = [p.text for p in sms.split_sms(text, max_segs=1)]
    assert parts[0] == "Eerste zin is kort."
    assert all(len(p) <= 160 for p in parts)
    assert parts[-1].endswith("1. Een\n2. Twee")
    assert not any(p.endswith(("1.", "2.")) for p in parts)
    # one endless word still gets cut
    assert [len(p.text) for p in sms.split_sms("x" * 400, max_segs=1)] == [160, 160, 80]


def test_typographic_punctuation_does_not_force_ucs2() -> None:
    assert sms.gsm_friendly("Vraag het: « heb ik voorrang? » – ja…") == (
        'Vraag het: " heb ik voorrang? " - ja...')
    assert sms.gsm_friendly("Ça « coûte » combien ?") == "Ça « coûte » combien ?"  # û stays
    assert sms.gsm_friendly("«Привіт»") == "«Привіт»"
    [part] = sms.split_sms("Het “attest” – zo vraag je het aan.")
    assert part.encoding == sms.GSM7


def test_a_long_sms_is_one_concatenated_message_up_to_twilios_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMS_MAX_SEGMENTS", raising=False)
    text = ("Een onthaalouder vangt thuis een kleine groep kinderen op. " * 12).strip()
    [part] = sms.split_sms(text)  # 707 characters, 5 segments: one message, not 2-3 SMS
    assert part.text == text and part.segments == sms.segments(text) == 5
    arabic = "الرعاية المنزلية هي رعاية عند مربية في بيتها. " * 20
    [part] = sms.split_sms(arabic)
    assert part.encoding == sms.UCS2 and part.segments > 3
    parts = sms.split_sms("Zin. " * 500)  # 2500 characters: cut only at Twilio's 1600
    assert [len(p.text) for p in parts] == [1599, 899]
    monkeypatch.setenv("SMS_MAX_SEGMENTS", "2")  # a loket that caps the cost still can
    assert all(p.segments <= 2 for p in sms.split_sms(text))


def test_a_numbered_list_is_never_cut() -> None:
    options = "\n".join(f"{n}. Keuze nummer {n} met wat uitleg erbij." for n in range(1, 7))
    text = "Eerste zin. Tweede zin met meer woorden. " * 4 + "Kies:\n\n" + options
    # 411 characters in parts of 306: a cut by length alone would fall inside the list
    assert text.index("1. Keuze") < 306 < len(text)
    parts = [p.text for p in sms.split_sms(text, max_segs=2)]
    assert len(parts) == 2 and parts[1] == options  # the list whole, in one part
    assert " ".join(parts).split() == text.split()
    # a list longer than one part is cut between two of its lines, never inside one
    long_list = "\n".join(f"{n}. " + "optie " * 12 for n in range(1, 9))
    parts = [p.text for p in sms.split_sms(long_list, max_segs=1)]
    assert len(parts) >= 2 and all(p.startswith(tuple("123456789")) for p in parts)


def test_split_respects_twilio_maximum() -> None:
    parts = sms.split_sms("Zin. " * 500, max_segs=20)
    assert all(len(p.text) <= sms.TWILIO_MAX_CHARS for p in parts)


def test_numbered_options() -> None:
    assert sms.with_options("Welke taal?", ["Nederlands", "Français"]) == (
        "Welke taal?\n\n1. Nederlands\n2. Français")
    assert sms.with_options("Tekst", []) == "Tekst"
    for reply, expected in [("2", 1), (" 2. ", 1), ("2)", 1), ("٢", 1), ("2️⃣", 1), ("1", 0),
                            ("3", None), ("0", None), ("2 kinderen", None), ("", None)]:
        assert sms.chosen_option(reply, 2) == expected, reply
    assert sms.chosen_option("1", 0) is None


# --- opt-out ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "STOPPEN", "Arrêt", "ARRET",
                                  "arret.", "توقف", "إيقاف", "ايقاف", "الغاء الاشتراك", "RET",
                                  "İptal", "iptal", "СТОП", "відписатися", "unsubscribe"])
def test_optout_words(text: str) -> None:
    keyword = optout.classify(text)
    assert keyword is not None and keyword.kind == optout.OPTOUT


@pytest.mark.parametrize("text", ["START", "start", "Başla", "basla", "ابدأ", "ابدا", "СТАРТ",
                                  "démarrer", "YES", "yes", "UNSTOP", "Unstop!"])
def test_optin_words(text: str) -> None:
    """Twilio's opt-in words (START, UNSTOP, YES) and the languages' own; they only count while
    the number is opted out (the channel's rule), so "yes" stays an answer otherwise."""
    keyword = optout.classify(text)
    assert keyword is not None and keyword.kind == optout.OPTIN


@pytest.mark.parametrize("text", ["HELP", "help", "Info", "INFO.", "hulp", "Aide !", "yardım",
                                  "YARDIM", "مساعدة", "مساعده", "допомога", "ДОПОМОГА"])
def test_help_words(text: str) -> None:
    keyword = optout.classify(text)
    assert keyword is not None and keyword.kind == optout.HELP


@pytest.mark.parametrize("text", ["stop met de vragen", "ik wil stoppen met werken", "hallo",
                                  "ja", "", None, "stopp", "help me", "ik heb hulp nodig",
                                  "meer info over de prijs", "true"])
def test_ordinary_messages_are_not_keywords(text: str | None) -> None:
    assert optout.classify(text) is None


def test_keyword_language() -> None:
    assert optout.classify("STOP").language is None  # shared: the conversation decides
    assert optout.classify("HELP").language is None
    assert optout.classify("arrêt").language == "fr"
    assert optout.classify("توقف").language == "ar"
    assert optout.classify("СТОП").language == "uk"
    assert optout.classify("hulp").language == "nl"


def test_optout_file_covers_every_language(tmp_path: Path) -> None:
    data = yaml.safe_load(Path(optout.OPTOUT_FILE).read_text(encoding="utf-8"))
    # an unquoted YES is a YAML boolean: a data error, not a silently lost word
    bad = tmp_path / "optout.yml"
    bad.write_text("optin:\n  en: [START, YES]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="quote"):
        optout.keywords(bad)
    for kind in optout.KINDS:
        assert set(data[kind]) == set(i18n.SUPPORTED)
        assert all(data[kind][lang] for lang in i18n.SUPPORTED)


# --- media -----------------------------------------------------------------------------------


def test_media_payload_and_kinds() -> None:
    assert share_media_payload("image") == '/share_media{"media_type":"image"}'
    assert share_media_payload("video") == '/share_media{"media_type":"other"}'
    assert [media_kind(t) for t in ("image/jpeg", "audio/ogg", "application/pdf",
                                    "text/vcard", "video/mp4", None)] == [
        "image", "audio", "document", "other", "other", "other"]


# --- message store ---------------------------------------------------------------------------


@pytest.fixture()
def store(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    yield url
    db.dispose_engine(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield request.getfixturevalue("store")
    else:
        url = request.getfixturevalue("pg_url")
        db.upgrade(url)
        yield url


def test_migration_matches_the_models(any_store: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.get_engine(any_store).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.Base.metadata)
    assert [d for d in diff if "channel_" in repr(d)] == []


def test_concurrent_deliveries_are_stored_once(any_store: str) -> None:
    store = any_store
    message = messages.Inbound(channel="sms", sender_id="sms:+32470000001",
                               address="+32470000001", external_id="SM-dup", text="hallo")
    results: list[int | None] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        results.append(messages.record_inbound(message, store))

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r is not None]) == 1
    assert len(messages.conversation("sms:+32470000001", store)) == 1
    assert messages.last_inbound_at("sms:+32470000001", store) is not None


def test_store_keeps_processing_state(any_store: str) -> None:
    store = any_store
    first = messages.record_inbound(messages.Inbound(
        channel="whatsapp", sender_id="whatsapp:+32470000002", address="+32470000002",
        external_id="SM-a", text="a"), store)
    second = messages.record_inbound(messages.Inbound(
        channel="whatsapp", sender_id="whatsapp:+32470000002", address="+32470000002",
        external_id="SM-b", text="b"), store)
    assert [r["id"] for r in messages.pending_inbound(("whatsapp",), store)] == [first, second]
    assert messages.start_inbound(first, store)["attempts"] == 1
    messages.finish_inbound(first, messages.PROCESSED, "a", None, store)
    assert messages.start_inbound(first, store) is None  # done: not handled twice
    assert [r["id"] for r in messages.pending_inbound(("whatsapp",), store)] == [second]
    out = messages.record_outbound("whatsapp", "whatsapp:+32470000002", "+32470000002", "x",
                                   messages.SENT, external_id="SM-out",
                                   buttons=[{"title": "A", "payload": "/a"}], reply_id="r1",
                                   url=store)
    assert messages.reply_buttons("r1", store) == [{"title": "A", "payload": "/a"}]
    assert messages.update_delivery(("whatsapp",), "SM-out", "delivered", url=store)
    assert messages.get(out, store)["delivery"] == "delivered"
    messages.set_opted_out("+32470000002", True, "STOP", url=store)
    assert messages.is_opted_out("+32470000002", store)
    messages.set_opted_out("+32470000002", False, "START", url=store)
    assert not messages.is_opted_out("+32470000002", store)


# --- sending with retries --------------------------------------------------------------------


@pytest.fixture()
def twilio():
    fake = FakeTwilio("ACunit", "secret").start()
    yield fake
    fake.stop()


def _url(fake: FakeTwilio) -> str:
    return f"{fake.url}/2010-04-01/Accounts/ACunit/Messages.json"


async def _post(fake: FakeTwilio, to: str, client: HttpClient | None = None):
    import aiohttp

    client = client or HttpClient(backoff=0.01)
    try:
        return await client.post(_url(fake), data={"To": to, "From": "+32", "Body": "x"},
                                 auth=aiohttp.BasicAuth("ACunit", "secret"))
    finally:
        await client.close()


async def test_retries_5xx_then_succeeds(twilio: FakeTwilio) -> None:
    twilio.script("+1", FakeTwilio.error(500, 20500), FakeTwilio.error(503, 20503))
    result = await _post(twilio, "+1")
    assert result.ok and result.attempts == 3
    assert [c.status for c in twilio.calls_for("+1")] == [500, 503, 201]


async def test_honours_retry_after(twilio: FakeTwilio) -> None:
    twilio.script("+2", FakeTwilio.error(429, 20429, retry_after=1))
    started = time.monotonic()
    result = await _post(twilio, "+2")
    assert result.ok and result.attempts == 2
    assert time.monotonic() - started >= 0.95


async def test_telegram_retry_after_in_body() -> None:
    fake = FakeTelegram("1:T").start()
    fake.script("7", FakeTelegram.error(429, "Too Many Requests", retry_after=1))
    client = HttpClient(backoff=0.01)
    started = time.monotonic()
    try:
        result = await client.post(f"{fake.url}/bot1:T/sendMessage",
                                   json_body={"chat_id": 7, "text": "hoi"})
    finally:
        await client.close()
        fake.stop()
    assert result.ok and result.attempts == 2 and time.monotonic() - started >= 0.95


async def test_a_long_retry_after_is_not_waited_in_line(twilio: FakeTwilio) -> None:
    """Over 30 s: one call, and the pause goes back to the caller, who queues the part for
    then (trying sooner only prolongs the limit)."""
    twilio.script("+5", FakeTwilio.error(429, 20429, retry_after=120))
    started = time.monotonic()
    result = await _post(twilio, "+5")
    assert not result.ok and result.attempts == 1 and result.retry_after == 120
    assert time.monotonic() - started < 5
    assert len(twilio.calls_for("+5")) == 1


async def test_no_retry_on_other_4xx(twilio: FakeTwilio) -> None:
    twilio.script("+3", FakeTwilio.error(400, 21211))
    result = await _post(twilio, "+3")
    assert not result.ok and result.attempts == 1 and result.body["code"] == 21211


async def test_retries_connection_errors() -> None:
    client = HttpClient(attempts=3, backoff=0.01)
    try:
        result = await client.post(f"http://127.0.0.1:{free_port()}/x", data={})
    finally:
        await client.close()
    assert not result.ok and result.status is None and result.attempts == 3


async def test_slow_answer_times_out_and_is_retried(twilio: FakeTwilio) -> None:
    twilio.script("+4", Scripted(201, {"sid": "late"}, delay=1.0))
    result = await _post(twilio, "+4", HttpClient(attempts=2, backoff=0.01, timeout=0.3))
    assert result.ok and result.attempts == 2


# --- configuration ---------------------------------------------------------------------------

_ALL_ENV = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_SMS", "TWILIO_FROM_WHATSAPP",
            "TWILIO_API_BASE", "TWILIO_WEBHOOK_URL", "TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN",
            "TELEGRAM_API_BASE")


def test_enabled_channels_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    assert connectors.enabled_channels() == {}
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC1")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    assert connectors.enabled_channels() == {}  # no sender number yet
    monkeypatch.setenv("TWILIO_FROM_WHATSAPP", "+3250")
    monkeypatch.setenv("TELEGRAM_TOKEN", "1:T")
    assert connectors.enabled_channels() == {connectors.TWILIO_CHANNEL: {}}  # no secret: off
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "s")
    assert set(connectors.enabled_channels()) == {connectors.TWILIO_CHANNEL,
                                                  connectors.TELEGRAM_CHANNEL}
    twilio = connectors.TwilioSettings.from_env()
    assert twilio.from_whatsapp == "whatsapp:+3250"
    assert twilio.messages_url == "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:9/")
    assert connectors.TelegramSettings.from_env().method_url("sendMessage") == (
        "http://127.0.0.1:9/bot1:T/sendMessage")


# --- channel pieces that need no server ------------------------------------------------------


class _Tracker:
    def __init__(self, lang: str | None) -> None:
        self.lang = lang

    def get_slot(self, name: str) -> str | None:
        return self.lang if name == "language" else None


class _Store:
    def __init__(self, lang: str | None) -> None:
        self.lang = lang

    async def retrieve(self, sender_id: str) -> _Tracker | None:
        return _Tracker(self.lang) if self.lang != "no-tracker" else None


@pytest.fixture()
def channel_env(monkeypatch: pytest.MonkeyPatch, store: str) -> str:
    monkeypatch.setenv("BOT_DB_URL", store)
    for name, value in (("TWILIO_ACCOUNT_SID", "AC1"), ("TWILIO_AUTH_TOKEN", "tok"),
                        ("TWILIO_FROM_SMS", "+3250"), ("TELEGRAM_TOKEN", "1:T"),
                        ("TELEGRAM_SECRET_TOKEN", "s")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TWILIO_WEBHOOK_URL", raising=False)
    return store


@pytest.mark.parametrize(("tracker_lang", "keyword_lang", "expected"), [
    ("ar", "fr", "ar"),  # the conversation's language wins
    (None, "fr", "fr"),  # else the language of the word ("arrêt")
    ("no-tracker", None, "nl"),  # else Dutch
    ("xx", None, "nl"),
])
async def test_confirmation_language(channel_env: str, monkeypatch: pytest.MonkeyPatch,
                                     tracker_lang: str | None, keyword_lang: str | None,
                                     expected: str) -> None:
    from types import SimpleNamespace

    from connectors import outbox
    from connectors.twilio import TwilioInput

    channel = TwilioInput()
    channel.app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(
        tracker_store=_Store(tracker_lang))))
    sent: list[tuple[str, str, bool]] = []

    async def deliver(sender_id: str, text: str, buttons: list, force: bool = False) -> None:
        sent.append((sender_id, text, force))

    monkeypatch.setattr(channel, "deliver", deliver)
    monkeypatch.setattr(outbox.i18n, "t", lambda key, lang: f"{key}@{lang}")
    await channel.confirm("sms:+32470", "channel.optout_confirm", keyword_lang)
    assert sent == [("sms:+32470", f"channel.optout_confirm@{expected}", True)]


async def test_telegram_long_payload_rides_as_a_reference(channel_env: str) -> None:
    from connectors.telegram import TelegramInput

    long_payload = '/inform{"intake_value":"' + "x" * 80 + '"}'
    buttons = [{"title": "Kort", "payload": "/greet"}, {"title": "Lang", "payload": long_payload}]
    markup = TelegramInput.keyboard(buttons, "r" * 32)
    data = [row[0]["callback_data"] for row in markup["inline_keyboard"]]
    assert data[0] == "/greet" and data[1] == "#" + "r" * 32 + ":1"
    assert all(len(d.encode()) <= 64 for d in data)
    messages.record_outbound("telegram", "telegram:5", "5", "x", messages.SENT,
                             buttons=buttons, reply_id="r" * 32, url=channel_env)
    assert [row[0]["text"] for row in markup["inline_keyboard"]] == ["1. Kort", "2. Lang"]
    channel = TelegramInput()
    assert await channel._button_payload(data[1]) == long_payload
    assert await channel._button_payload("/greet") == "/greet"
    # a stale keyboard: no error, the channel answers "no longer valid" (see the e2e test)
    for stale in ("#unknown:0", "#" + "r" * 32 + ":7", "#" + "r" * 32 + ":x", ""):
        assert await channel._button_payload(stale) is None


def test_twilio_signed_url_behind_a_proxy(channel_env: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from connectors.twilio import TwilioInput

    local = SimpleNamespace(url="http://10.0.0.5:5005/webhooks/twilio/webhook",
                            path="/webhooks/twilio/webhook")
    assert TwilioInput().public_url(local) == local.url  # default: the request's own URL
    monkeypatch.setenv("TWILIO_WEBHOOK_URL", "https://loket.example.be/webhooks/twilio/webhook")
    channel = TwilioInput()
    assert channel.public_url(local) == "https://loket.example.be/webhooks/twilio/webhook"
    status = SimpleNamespace(url="http://10.0.0.5:5005/webhooks/twilio/status",
                             path="/webhooks/twilio/status")
    assert channel.public_url(status) == "https://loket.example.be/webhooks/twilio/status"


def test_telegram_updates_are_read_or_kept(channel_env: str) -> None:
    from types import SimpleNamespace

    from connectors.telegram import TelegramInput

    channel = TelegramInput()
    chat = {"id": 5, "type": "private"}
    [text] = channel.parse(SimpleNamespace(json={"update_id": 1, "message": {
        "message_id": 1, "date": 0, "chat": chat, "text": "hallo"}}))
    assert (text.sender_id, text.kind, text.text, text.external_id) == (
        "telegram:5", "text", "hallo", "1")
    [tap] = channel.parse(SimpleNamespace(json={"update_id": 2, "callback_query": {
        "id": "q", "chat_instance": "c", "data": "/greet",
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "message": {"message_id": 1, "date": 0, "chat": chat}}}))
    assert (tap.kind, tap.text, tap.meta) == ("button", "/greet", {"callback_query_id": "q"})
    [edited] = channel.parse(SimpleNamespace(json={"update_id": 3, "edited_message": {
        "message_id": 1, "date": 0, "edit_date": 1, "chat": chat, "text": "hallo!"}}))
    assert edited.kind == "event"
    # a shape the library cannot read is kept (and acknowledged), not refused into retries
    [odd] = channel.parse(SimpleNamespace(json={"update_id": 4, "message": {
        "message_id": 1, "date": 0, "chat": chat, "sticker": {"file_id": "x"}}}))
    assert odd.kind == "event" and odd.sender_id == "telegram:5"
    with pytest.raises(ValueError):
        channel.parse(SimpleNamespace(json={"no": "update"}))


def test_telegram_groups_are_never_conversations(channel_env: str) -> None:
    from types import SimpleNamespace

    from connectors.telegram import TelegramInput, outside_private_chat

    channel = TelegramInput()
    for chat_type in ("group", "supergroup", "channel"):
        update = {"update_id": 10, "message": {"message_id": 1, "date": 0, "text": "hoi",
                                               "chat": {"id": -5, "type": chat_type}}}
        assert outside_private_chat(update)
        assert channel.parse(SimpleNamespace(json=update)) == []  # nothing stored
    tap = {"update_id": 11, "callback_query": {
        "id": "q", "chat_instance": "c", "data": "/greet",
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "message": {"message_id": 1, "date": 0, "chat": {"id": -5, "type": "group"}}}}
    assert channel.parse(SimpleNamespace(json=tap)) == []
    private = {"update_id": 12, "message": {"message_id": 1, "date": 0, "text": "hoi",
                                            "chat": {"id": 5, "type": "private"}}}
    assert not outside_private_chat(private)
    assert [m.sender_id for m in channel.parse(SimpleNamespace(json=private))] == ["telegram:5"]


def test_a_notice_is_given_once(store: str) -> None:
    assert messages.first_notice("telegram-group:-5", store)
    assert not messages.first_notice("telegram-group:-5", store)
    assert messages.first_notice("telegram-group:-6", store)


# --- delivery reports and what did not arrive -------------------------------------------------


def _sent(store: str, sender: str, sid: str, text: str = "x", reply_id: str | None = None,
          delivery: str = "queued") -> int:
    channel, _, address = sender.partition(":")
    return messages.record_outbound(channel, sender, address, text, messages.SENT,
                                    external_id=sid, delivery=delivery,
                                    reply_id=reply_id or sid, part=1, url=store)


@pytest.mark.parametrize(("callbacks", "delivery", "status"), [
    (["sent", "delivered", "read"], "read", messages.SENT),
    (["delivered", "sent", "queued"], "delivered", messages.SENT),  # late ones do not undo
    (["read", "delivered"], "read", messages.SENT),
    (["sent", "undelivered"], "undelivered", messages.FAILED),
    (["undelivered", "sent"], "undelivered", messages.FAILED),  # a late "sent" is older
    (["failed", "delivered"], "delivered", messages.SENT),  # it arrived after all
    (["delivered", "undelivered"], "delivered", messages.SENT),  # no failure after arrival
])
def test_delivery_state_only_moves_forward(any_store: str, callbacks: list[str],
                                           delivery: str, status: str) -> None:
    row = _sent(any_store, "whatsapp:+32470000100", f"SM-fwd-{'-'.join(callbacks)}")
    sid = messages.get(row, any_store)["external_id"]
    for state in callbacks:
        code = "30003" if state in messages.DELIVERY_FAILURES else None
        messages.update_delivery(("sms", "whatsapp"), sid, state, code, any_store)
    got = messages.get(row, any_store)
    assert (got["delivery"], got["status"]) == (delivery, status)
    if status == messages.FAILED:
        assert got["error_code"] == "30003" and got["reason"] == messages.UNDELIVERED
    assert not messages.update_delivery(("sms", "whatsapp"), "SM-unknown", "sent", url=any_store)


def test_concurrent_callbacks_end_at_the_furthest_state(any_store: str) -> None:
    row = _sent(any_store, "sms:+32470000101", "SM-race")
    states = ["sent", "delivered", "queued", "sent", "read", "sending"] * 3
    barrier = threading.Barrier(len(states))

    def report(state: str) -> None:
        barrier.wait()
        messages.update_delivery(("sms",), "SM-race", state, url=any_store)

    threads = [threading.Thread(target=report, args=(s,)) for s in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert messages.get(row, any_store)["delivery"] == "read"


def test_delivery_problems_say_what_to_do(store: str) -> None:
    from bot.inbox import texts
    from connectors import delivery

    sender = "sms:+32470000102"
    _sent(store, sender, "SM-ok")
    messages.update_delivery(("sms",), "SM-ok", "delivered", url=store)
    _sent(store, sender, "SM-lost", text="Er is een plaats vrij")
    messages.update_delivery(("sms",), "SM-lost", "undelivered", "30005", store)
    _sent(store, sender, "SM-late")  # failed first, then delivered: no problem any more
    messages.update_delivery(("sms",), "SM-late", "failed", "30008", store)
    messages.update_delivery(("sms",), "SM-late", "delivered", url=store)
    messages.record_outbound("sms", sender, "+32470000102", "deel 1", messages.FAILED,
                             reason="provider_error", error_code="30007", reply_id="r2",
                             part=1, url=store)
    messages.record_outbound("sms", sender, "+32470000102", "deel 2", messages.NOT_SENT,
                             reason="previous_part_failed", reply_id="r2", part=2, url=store)
    messages.record_outbound("sms", sender, "+32470000102", "later", messages.NOT_SENT,
                             reason="opted_out", reply_id="r3", part=1, url=store)
    found = delivery.problems(sender, "en", store)
    assert [(p.error_code, p.reason) for p in found] == [
        ("30005", messages.UNDELIVERED), ("30007", "provider_error"), (None, "opted_out")]
    assert found[0].text == "Er is een plaats vrij" and found[0].delivery == "undelivered"
    assert found[0].advice == texts.st("delivery_problem.30005", "en")
    assert found[2].advice == texts.st("delivery_problem.opted_out", "en")
    assert delivery.problems(sender, "nl", store)[1].advice == \
        texts.st("delivery_problem.30007", "nl")
    assert delivery.problems("sms:+32470000999", url=store) == []


def test_every_delivery_advice_exists_for_staff() -> None:
    from bot.inbox import texts
    from connectors import delivery

    keys = [delivery.advice_key(c, None) for c in delivery.ADVICE_CODES] + \
        [delivery.advice_key(None, r) for r in delivery.ADVICE_REASONS] + \
        [delivery.advice_key("99999", "whatever")]
    for lang in texts.LANGUAGES:
        assert all(texts.has(k, lang) for k in keys), lang


def test_whatsapp_templates_come_from_configuration(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    good, other = "HX" + "0" * 32, "HX" + "f" * 32
    path = tmp_path / "templates.yml"
    path.write_text(yaml.safe_dump({"staff_reply": {"nl": good, "fr": other},
                                    "request_update": {"nl": "HX-typo"},
                                    "marketing": {"nl": good}}))
    templates = connectors.whatsapp_templates(str(path))
    assert templates == {"staff_reply": {"nl": good, "fr": other}}
    assert "no ContentSid" in caplog.text and "unknown purpose" in caplog.text
    inline = json.dumps({"request_update": {"tr": good}})
    assert connectors.whatsapp_templates(inline) == {"request_update": {"tr": good}}
    assert connectors.whatsapp_templates("") == {}
    assert connectors.whatsapp_templates(str(tmp_path / "missing.yml")) == {}
    settings = connectors.TwilioSettings("AC", "t", "", "w", "", "", templates)
    assert settings.template("staff_reply", "fr") == other
    assert settings.template("staff_reply", "ar") == good  # Dutch, the loket's own language
    assert settings.template("request_update", "nl") is None


def test_a_part_sent_again_later_is_no_problem(store: str) -> None:
    from connectors import delivery

    sender = "whatsapp:+32470000103"
    messages.record_outbound("whatsapp", sender, "+32470000103", "nieuws", messages.FAILED,
                             reason=messages.UNDELIVERED, error_code="63016", reply_id="r9",
                             part=1, url=store)
    waiting = messages.record_outbound("whatsapp", sender, "+32470000103", "nieuws",
                                       messages.QUEUED, reply_id="r9", part=1, url=store)
    messages.keep_for_answer(waiting, store)
    [problem] = delivery.problems(sender, url=store)
    assert problem.error_code == "63016"  # the first record of the reply, with its advice
    state = messages.conversation_state(sender, "+32470000103", store)
    assert state.queued and state.awaiting
    assert messages.release_awaiting(sender, store) == 1
    messages.settle_outbound(waiting, messages.SENT, external_id="SM-r9", url=store)
    assert delivery.problems(sender, url=store) == []
    assert not messages.conversation_state(sender, "+32470000103", store).queued


@pytest.mark.parametrize(("at_once", "transactions"), [(True, 4), (False, 5)])
async def test_a_twilio_message_costs_four_store_transactions(
        channel_env: str, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch, at_once: bool,
        transactions: int) -> None:
    """Issue 14.10: stored at the webhook together with its turn's claim and the
    conversation's state (when its conversation's queue is idle, as the webhook does; else
    claimed apart), the reply recorded ``sending`` with the opt-out check, settled with its
    sid, marked done with the numbered options it offered: four transactions for a message
    with a reply (eight before). The reply still reaches the (fake, real HTTP) Twilio API
    once, and every step is still committed before the next."""
    from types import SimpleNamespace

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from connectors.twilio import TwilioInput

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "ACunit")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    monkeypatch.setenv("TWILIO_API_BASE", twilio.url)
    channel = TwilioInput()
    channel.app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(
        is_ready=lambda: True, tracker_store=_Store("no-tracker"))))
    stored_first: list[str] = []

    async def assistant(message: object) -> None:  # Rasa's side: one reply with options
        counting.clear()  # (this test's own read is not the channel's)
        stored_first.append(messages.get(message_id)["status"])
        counting.append(True)
        await message.output_channel.send_text_with_buttons(  # type: ignore[attr-defined]
            message.sender_id, "Kies",  # type: ignore[attr-defined]
            [{"title": "Prijs", "payload": "/ask_price"}])

    channel.on_new_message = assistant
    commits: list[int] = []
    counting = [True]

    def count(_connection: object) -> None:  # every commit, ORM session or Core
        if counting:
            commits.append(1)

    inbound = messages.Inbound(channel="sms", sender_id="sms:+32470000900",
                               address="+32470000900", external_id="SMtx1", text="hallo")
    event.listen(Engine, "commit", count)
    try:
        if at_once:
            message_id, row, state = messages.receive_inbound(inbound, channel.worker,
                                                              channel.optout_key)
            before = len(commits)
            await channel.process(message_id, inbound.sender_id, (row, state))
        else:
            message_id = messages.record_inbound(inbound, None, channel.worker)
            before = len(commits)
            await channel.process(message_id, inbound.sender_id)
    finally:
        event.remove(Engine, "commit", count)
        await channel.http.close()
        await channel.resend_http.close()
    assert len(commits) - before == transactions - 1 and len(commits) == transactions
    assert stored_first == [messages.RECEIVED]  # stored (committed) before processing
    assert [c.status for c in twilio.calls_for("+32470000900")] == [201]
    row = messages.get(message_id)
    assert row is not None and (row["status"], row["attempts"]) == (messages.PROCESSED, 1)
    assert messages.last_buttons(inbound.sender_id) == [{"title": "Prijs",
                                                         "payload": "/ask_price"}]
    assert [r["status"] for r in messages.outbound(inbound.sender_id)] == [messages.SENT]


async def test_a_conversation_whose_job_wrote_its_last_counts_as_idle() -> None:
    """Issue 14.10: a message arriving between the commit of a turn's last write and the
    event loop resuming that turn finds the conversation idle (its turn is started as it is
    stored, one transaction less), with the mark the worker ends with; one behind it, or a
    job that is still writing, does not."""
    import asyncio

    from connectors.inbound import ConversationQueues

    queues = ConversationQueues()
    assert queues.idle_since("c") == 0
    committed, release = asyncio.Event(), asyncio.Event()
    writes = threading.Event()

    def last_write() -> None:  # as _finish, in the store's thread: the commit, then done
        writes.wait(10)
        queues.done("c")

    async def job() -> None:
        await asyncio.to_thread(last_write)
        committed.set()
        await release.wait()  # the loop has not resumed the turn yet

    async def writing() -> None:
        await release.wait()

    queues.submit("c", job)
    await asyncio.sleep(0)
    assert queues.idle_since("c") is None  # running, its last write not committed
    writes.set()
    await committed.wait()
    mark = queues.idle_since("c")
    assert mark == 1  # as good as ended: the mark it ends with
    queues.submit("c", writing)  # a message behind it: busy again
    assert queues.idle_since("c") is None
    release.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert queues.idle_since("c") == mark  # ended: nothing ran in between but these two
