"""The conversation evaluation: start the assistant once, let every persona talk to it over
REST, answering whatever it asks as a person would, then compare what was stored with what
the persona expects.

Personas read the bot's *texts* (never its buttons' payloads): a question is recognised by
its locale text (tests/converse/texts.py), so the run measures what a family experiences.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.converse.personas import Persona, RequestCheck, check_eligibility, check_request
from tests.converse.texts import TemplateIndex, is_reask, is_statement, normalise
from tests.serving import Served, ServeFailed

MAX_TURNS = 70  # a full snelfiche with a check and a search takes about 35
GIVE_UP = 6  # asked the same thing this often in a row: a person stops trying
THREADS = 4

# What a person types when asked something it cannot answer, per language.
DONT_KNOW = {"nl": "weet ik niet", "fr": "je sais pas", "en": "I don't know",
             "ar": "لا أعرف", "tr": "bilmiyorum", "uk": "не знаю"}
# Answers every persona gives unless its `knows` says otherwise: its own language when asked
# which language (it is writing in it), and "no" to a deletion it never asked for.
DEFAULT_KNOWS = {
    "language": {"nl": "nederlands", "fr": "français", "en": "english", "ar": "العربية",
                 "tr": "türkçe", "uk": "українська"},
    "delete_confirm": {"nl": "nee", "fr": "non", "en": "no", "ar": "لا", "tr": "hayır",
                       "uk": "ні"},
}

# A goal after the first one without its own words ("- {do: check_priority}") cannot come from
# the opening messages: the persona asks for it in these plain words (the first goal without
# words is one the opening itself asks for).
GOAL_WORDS = {
    "parent": {
        "check_priority": {"nl": "hebben we voorrang?", "fr": "est-ce qu'on a la priorité ?",
                           "en": "do we get priority?", "ar": "هل عندنا أولوية؟",
                           "tr": "öncelik hakkımız var mı?", "uk": "чи маємо ми пріоритет?"},
        "check_reduced_rate": {"nl": "kunnen we minder betalen?", "fr": "on peut payer moins ?",
                               "en": "can we pay less?", "ar": "هل يمكن أن ندفع أقل؟",
                               "tr": "daha az ödeyebilir miyiz?",
                               "uk": "чи можемо ми платити менше?"},
        "register": {"nl": "ik wil mijn kind inschrijven", "fr": "je veux inscrire mon enfant",
                     "en": "I want to register my child", "ar": "أريد تسجيل طفلي",
                     "tr": "çocuğumu kaydettirmek istiyorum", "uk": "хочу зареєструвати дитину"},
        "find_place": {"nl": "is er een vrije plaats?", "fr": "il y a une place libre ?",
                       "en": "is there a free place?", "ar": "هل يوجد مكان شاغر؟",
                       "tr": "boş yer var mı?", "uk": "чи є вільне місце?"},
    },
    "toeleider": {
        "check_priority": {"nl": "heeft het gezin voorrang?",
                           "fr": "la famille a-t-elle la priorité ?",
                           "en": "does the family get priority?", "ar": "هل للعائلة أولوية؟",
                           "tr": "ailenin önceliği var mı?", "uk": "чи має сім'я пріоритет?"},
        "check_reduced_rate": {"nl": "kan het gezin minder betalen?",
                               "fr": "la famille peut-elle payer moins ?",
                               "en": "can the family pay less?",
                               "ar": "هل يمكن للعائلة أن تدفع أقل؟",
                               "tr": "aile daha az ödeyebilir mi?",
                               "uk": "чи може сім'я платити менше?"},
        "register": {"nl": "ik wil de vraag van het gezin registreren",
                     "fr": "je voudrais inscrire la demande de la famille",
                     "en": "I would like to register the family's request",
                     "ar": "أريد تسجيل طلب العائلة", "tr": "ailenin talebini kaydetmek istiyorum",
                     "uk": "хочу зареєструвати запит сім'ї"},
        "find_place": {"nl": "is er een vrije plaats voor het gezin?",
                       "fr": "y a-t-il une place libre pour la famille ?",
                       "en": "is there a free place for the family?",
                       "ar": "هل يوجد مكان شاغر للعائلة؟", "tr": "aile için boş yer var mı?",
                       "uk": "чи є вільне місце для сім'ї?"},
    },
}


def goal_words(goal: dict[str, Any], index: int, role: str, lang: str) -> str | None:
    """What the persona says to pursue ``goal``, the ``index``-th of its goals."""
    if goal.get("say"):
        return str(goal["say"])
    if index == 0:
        return None
    return GOAL_WORDS["toeleider" if role == "toeleider" else "parent"][goal["do"]][lang]


# --- the assistant ---------------------------------------------------------------------------

class Assistant:
    """``python -m bot serve`` on a fresh var folder (own SQLite stores), with a pinned date;
    started and stopped by tests/serving.py, as in the end-to-end tests."""

    def __init__(self, today: str, var: Path | None = None) -> None:
        from cryptography.fernet import Fernet

        self.today = today
        self._tmp = None if var else tempfile.TemporaryDirectory(prefix="converse-")
        self.var = var or Path(self._tmp.name)
        self.key = Fernet.generate_key().decode()  # known, so stored health notes can be read
        self.served = Served(self.var, token="eval-" + os.urandom(8).hex(),
                             command=(sys.executable, "-m", "bot", "serve"),
                             BOT_TODAY=self.today, BOT_ENCRYPTION_KEY=self.key)
        self.port, self.token, self.base = self.served.port, self.served.token, self.served.base

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        return self.served.proc

    def start(self, timeout: float = 300) -> None:
        self.served.timeout = timeout
        try:
            self.served.start()
        except ServeFailed as exc:
            self.stop()
            raise RuntimeError(f"the assistant did not start: {exc}") from exc

    def stop(self) -> None:
        self.served.stop()
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Assistant:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _json(self, url: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
        deadline = time.monotonic() + 120  # a server that died is restarted by `serve`
        while True:
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    return json.loads(resp.read() or b"null")
            except urllib.error.HTTPError:
                raise
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                    raise
                time.sleep(2)

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        out = self._json(f"{self.base}/webhooks/rest/webhook", {"sender": sender,
                                                                "message": text})
        return out if isinstance(out, list) else []

    def tracker(self, sender: str) -> dict[str, Any]:
        query = urllib.parse.urlencode({"token": self.token})
        return self._json(f"{self.base}/conversations/{urllib.parse.quote(sender)}/tracker"
                          f"?{query}") or {}

    def stored(self, sender: str) -> tuple[dict[str, Any] | None, int]:
        """The newest care request of ``sender`` (status, role, language, answers) and how
        many requests it has."""
        from sqlalchemy import func, select

        from bot.db import session_scope
        from bot.intake import store
        from bot.intake.models import CareRequest

        with session_scope(f"sqlite:///{self.var / 'bot.db'}") as session:
            count = session.execute(select(func.count()).select_from(CareRequest).where(
                CareRequest.sender_id == sender)).scalar_one()
            row = session.execute(select(CareRequest).where(CareRequest.sender_id == sender)
                                  .order_by(CareRequest.id.desc()).limit(1)).scalar_one_or_none()
            if row is None:
                return None, count
            return {"status": row.status, "role": row.role, "language": row.language,
                    "answers": store.answers(row)}, count


@contextmanager
def _encryption_key(key: str) -> Iterator[None]:
    """This process decrypts with the assistant's key while the run lasts (bot.crypto caches
    the key it found first)."""
    from bot import crypto

    old = os.environ.get("BOT_ENCRYPTION_KEY")
    os.environ["BOT_ENCRYPTION_KEY"] = key
    crypto._fernet.cache_clear()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("BOT_ENCRYPTION_KEY", None)
        else:
            os.environ["BOT_ENCRYPTION_KEY"] = old
        crypto._fernet.cache_clear()


# --- one conversation ------------------------------------------------------------------------

@dataclass
class Line:
    who: str  # "persona" | "bot"
    text: str
    note: str = ""  # persona: which topic it answered; bot: recognised keys


@dataclass
class Result:
    id: str
    lang: str
    split: str
    role: str
    fully_right: bool = False
    fields_expected: int = 0
    fields_right: int = 0
    wrong: dict[str, Any] = field(default_factory=dict)
    misfiled: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    requests: int = 0
    stored_role: str | None = None
    stored_language: str | None = None
    eligibility_problems: list[str] = field(default_factory=list)
    role_flip: bool = False
    roles_seen: list[Any] = field(default_factory=list)
    language_flip: bool = False
    languages_seen: list[Any] = field(default_factory=list)
    foreign_replies: list[str] = field(default_factory=list)
    reasks: int = 0
    unknown_questions: int = 0
    turns: int = 0
    minimum: int = 0
    stuck: bool = False
    error: str | None = None
    failures: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    transcript: list[Line] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """What may be shown of a held-out persona: numbers, no texts."""
        keep = ("id", "lang", "split", "role", "fully_right", "fields_expected", "fields_right",
                "status", "role_flip", "language_flip", "reasks", "unknown_questions", "turns",
                "minimum", "stuck")
        out = {k: getattr(self, k) for k in keep}
        out["misfiled"] = len(self.misfiled)
        return out


class Conversation:
    """A persona talking: its opening messages, then each goal, answering every question."""

    def __init__(self, persona: Persona, assistant: Assistant, index: TemplateIndex,
                 max_turns: int = MAX_TURNS) -> None:
        self.p, self.bot, self.index, self.max_turns = persona, assistant, index, max_turns
        self.sender = f"eval-{persona.id}-{os.urandom(3).hex()}"
        self.result = Result(persona.id, persona.lang, persona.split, persona.role)
        self.pending: str | None = None  # the topic the assistant waits for
        self.answered: dict[str, int] = {}  # topic -> answers given
        self.scripted: set[str] = set()  # script entries already said
        self.free_reask: set[str] = set()  # asked again after a digression: expected
        self.bot_turns = 0
        self.in_a_row = 0  # times the pending topic was asked in a row

    # -- talking --

    def send(self, text: str, note: str = "") -> None:
        if self.result.turns >= self.max_turns:
            self.result.stuck = True
            return
        self.result.turns += 1
        self.result.transcript.append(Line("persona", text, note))
        self.hear(self.bot.say(self.sender, text))

    def hear(self, replies: list[dict[str, Any]]) -> None:
        """Find the question in the replies; count re-asks, foreign-language texts and texts
        that could not be mapped while a question was pending."""
        before, self.pending = self.pending, None
        self.bot_turns += 1
        reask = False
        asked: str | None = None
        for reply in replies:
            text = reply.get("text") or ""
            if not text:
                continue
            found = self.index.matches(text)
            buttons = [b.get("title", "") for b in reply.get("buttons") or []]
            note = ", ".join(m.key for m in found) or "?"
            if buttons:
                note += " | buttons: " + " / ".join(buttons)
            self.result.transcript.append(Line("bot", text, note))
            langs = self.index.languages(text)
            if self.bot_turns > 1 and langs and self.p.lang not in langs:
                self.result.foreign_replies.append(f"{sorted(langs)}: {text[:80]}")
            if not found and before:
                self.result.unmapped.append(text)
            norm = normalise(text)
            for m in found:
                if m.topic is None and not is_reask(m.key) and not is_statement(m.key) \
                        and "?" in norm[m.start:m.end + 1] and before:
                    self.result.unmapped.append(f"[{m.key} has no topic] {text}")
            reask = reask or any(is_reask(m.key) for m in found)
            question = self.index.question(text, self.p.role)
            if question is not None:
                asked = question.topic
        if asked is None and reask:
            asked = before  # "I did not understand that" without the question again
        if asked is None:
            return
        self.in_a_row = self.in_a_row + 1 if asked == before else 1
        self.pending = asked
        if asked in self.free_reask:
            self.free_reask.discard(asked)
        elif asked in self.answered or asked in self.p.said_up_front:
            self.result.reasks += 1

    def answer(self, topic: str) -> None:
        if topic in self.p.script and topic not in self.scripted:
            self.scripted.add(topic)
            self.free_reask.add(topic)
            self.send(self.p.script[topic], f"{topic}: first says")
            return
        given = self.answered.get(topic, 0)
        self.answered[topic] = given + 1
        variants = self.p.knows.get(topic)
        if variants:
            self.send(variants[min(given, len(variants) - 1)], topic)
        elif topic in DEFAULT_KNOWS:
            self.send(DEFAULT_KNOWS[topic][self.p.lang], f"{topic} (default)")
        else:
            self.result.unknown_questions += 1
            self.send(DONT_KNOW[self.p.lang], f"{topic}: does not know")

    def run(self) -> Result:
        try:
            for text in self.p.open:
                self.send(text, "open")
            for index, goal in enumerate(self.p.goals):
                words = goal_words(goal, index, self.p.role, self.p.lang)
                if words:
                    self.send(words, goal["do"])
                while self.pending and not self.result.stuck:
                    if self.in_a_row >= GIVE_UP:
                        self.result.stuck = True
                        self.result.failures.append(
                            f"gave up: asked {self.pending} {GIVE_UP} times in a row")
                        break
                    self.answer(self.pending)
                if self.result.stuck:
                    break
            self.score()
        except Exception as err:  # a crash is a failed persona, reported, not a stopped run
            self.result.error = f"{type(err).__name__}: {err}"
            self.result.failures.append(self.result.error)
        return self.result

    # -- scoring --

    def score(self) -> None:
        from bot.eligibility.engine import evaluate

        r, p = self.result, self.p
        stored, r.requests = self.bot.stored(self.sender)
        answers = (stored or {}).get("answers") or {}
        check: RequestCheck = check_request(p, answers)
        r.fields_expected, r.fields_right = check.expected, check.right
        r.wrong, r.misfiled = check.wrong, check.misfiled
        if stored:
            r.status, r.stored_role = stored["status"], stored["role"]
            r.stored_language = stored["language"]

        tracker = self.bot.tracker(self.sender)
        events = tracker.get("events") or []
        r.roles_seen = [e.get("value") for e in events
                        if e.get("event") == "slot" and e.get("name") == "role"]
        r.languages_seen = [e.get("value") for e in events
                            if e.get("event") == "slot" and e.get("name") == "language"]
        r.role_flip = any(v not in (None, p.role) for v in r.roles_seen) or (
            r.stored_role not in (None, p.role))
        r.language_flip = bool(r.foreign_replies) or any(
            v not in (None, p.lang) for v in r.languages_seen) or (
            r.stored_language not in (None, p.lang))
        facts = (tracker.get("slots") or {}).get("facts") or {}
        if p.eligibility:
            try:
                r.eligibility_problems = check_eligibility(p, evaluate(facts, on=p.today))
            except ValueError as err:
                r.eligibility_problems = [f"facts {facts} not valid: {err}"]

        # What a perfect assistant needs: the persona's own messages, plus one answer per
        # topic it had to be asked (a question the persona let pass is no turn of its own).
        r.minimum = (len(p.open) + sum(1 for i, g in enumerate(p.goals)
                                       if goal_words(g, i, p.role, p.lang))
                     + len(set(self.answered) - p.said_up_front) + len(self.scripted))
        failures = r.failures
        if r.stuck and r.turns >= self.max_turns:
            failures.append(f"stuck: {self.max_turns} turns")
        if stored is None:
            failures.append(f"no care request stored ({check.expected} fields expected)")
        else:
            if r.status == "draft":
                failures.append("request not confirmed (draft)")
            failures += [f"{k}: expected {w!r}, stored {g!r}"
                         for k, (w, g) in check.wrong.items()]
        failures += [f"misfiled {k}: {v!r}" for k, v in check.misfiled.items()]
        failures += r.eligibility_problems
        if r.role_flip:
            failures.append(f"role flip: slot {r.roles_seen}, stored {r.stored_role}")
        if r.language_flip:
            failures.append(f"language flip: slot {r.languages_seen}, stored "
                            f"{r.stored_language}, replies {r.foreign_replies[:3]}")
        r.fully_right = not failures


def run_personas(personas: list[Persona], assistant: Assistant, threads: int = THREADS,
                 max_turns: int = MAX_TURNS) -> list[Result]:
    index = TemplateIndex()
    with _encryption_key(assistant.key), ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda p: Conversation(p, assistant, index, max_turns).run(),
                             personas))


# --- the report ------------------------------------------------------------------------------

def _row(results: list[Result]) -> dict[str, Any]:
    n = len(results)
    reasks = [r.reasks for r in results]
    expected = sum(r.fields_expected for r in results)
    ratios = [r.turns / r.minimum for r in results if r.minimum]
    return {
        "personas": n,
        "fully_right_pct": round(100 * sum(r.fully_right for r in results) / n, 1) if n else 0,
        "fields_right_pct": round(100 * sum(r.fields_right for r in results) / expected, 1)
        if expected else 0,
        "role_flips": sum(r.role_flip for r in results),
        "language_flips": sum(r.language_flip for r in results),
        "misfiled": sum(len(r.misfiled) for r in results),
        "reasks_median": statistics.median(reasks) if reasks else 0,
        "reasks_max": max(reasks, default=0),
        "unknown_questions": sum(r.unknown_questions for r in results),
        "stuck": sum(r.stuck for r in results),
        "turns_per_minimum": round(statistics.mean(ratios), 2) if ratios else 0,
    }


def summary(results: list[Result]) -> list[dict[str, Any]]:
    """Rows per language and split (tune, heldout, both), and all languages together."""
    rows = []
    langs = sorted({r.lang for r in results})
    for lang in [*langs, "all"]:
        mine = [r for r in results if lang in ("all", r.lang)]
        for split in ("tune", "heldout", "both"):
            part = [r for r in mine if split in ("both", r.split)]
            if part:
                rows.append({"lang": lang, "split": split, **_row(part)})
    return rows


COLUMNS = (("lang", "lang"), ("split", "split"), ("personas", "n"),
           ("fully_right_pct", "fully%"), ("fields_right_pct", "fields%"),
           ("role_flips", "roleflip"), ("language_flips", "langflip"),
           ("misfiled", "misfiled"), ("reasks_median", "reask_med"),
           ("reasks_max", "reask_max"), ("unknown_questions", "unknown"),
           ("stuck", "stuck"), ("turns_per_minimum", "turns/min"))


def table(rows: list[dict[str, Any]]) -> str:
    header = [title for _, title in COLUMNS]
    body = [[str(row[key]) for key, _ in COLUMNS] for row in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*line) for line in [header, *body])


def failure_report(results: Iterable[Result]) -> str:
    """Transcript and differences of failing tune personas; held-out ones stay unseen."""
    out: list[str] = []
    for r in results:
        if r.fully_right or r.split != "tune":
            continue
        out.append(f"=== {r.id} ({r.role}) — {len(r.failures)} problem(s)")
        out += [f"  ! {f}" for f in r.failures]
        previous: list[tuple[str, str]] = []
        repeats = 0
        for turn in _turns(r.transcript):
            texts = [(line.who, line.text) for line in turn]
            if texts == previous:  # a loop: show it once
                repeats += 1
                continue
            if repeats:
                out.append(f"  … the turn above {repeats} more time(s)")
            previous, repeats = texts, 0
            for line in turn:
                who = "  >" if line.who == "persona" else "  <"
                text = line.text.replace("\n", " ⏎ ")
                out.append(f"{who} {text[:300]}" + (f"    [{line.note}]" if line.note else ""))
        if repeats:
            out.append(f"  … the turn above {repeats} more time(s)")
    return "\n".join(out)


def _turns(transcript: list[Line]) -> list[list[Line]]:
    turns: list[list[Line]] = []
    for line in transcript:
        if line.who == "persona" or not turns:
            turns.append([])
        turns[-1].append(line)
    return turns


def unmapped_report(results: Iterable[Result]) -> str:
    seen: dict[str, list[str]] = {}
    hidden = 0
    for r in results:
        if r.split != "tune":
            hidden += len(r.unmapped)
            continue
        for text in r.unmapped:
            seen.setdefault(" ".join(text.split())[:200], []).append(r.id)
    if not seen and not hidden:
        return ""
    lines = ["Bot messages not mapped while a question was pending (add them to "
             "tests/converse/texts.py when they ask something):"]
    lines += [f"  {len(ids)}× [{', '.join(sorted(set(ids))[:4])}] {text}"
              for text, ids in sorted(seen.items(), key=lambda kv: -len(kv[1]))]
    if hidden:
        lines.append(f"  …and {hidden} in held-out conversations (not shown)")
    return "\n".join(lines)


def to_json(results: list[Result]) -> dict[str, Any]:
    """The summary, and per persona: everything for tune, figures only for held-out."""
    return {"summary": summary(results),
            "personas": [asdict(r) if r.split == "tune" else r.figures() for r in results]}
