"""Conversations the chat load benchmark (chat_load.py) plays, for our assistant and for the
stock ``rasa init`` bot.

A conversation is a list of steps. A step is a typed message, a ``Press`` of one button the
bot offered in its previous turn (its payload is sent, as a web or Telegram client does), or
an ``AnswerForm``: keep pressing the same choice while the bot asks a form question (buttons
whose payloads are ``/inform…``), as a parent answering the priority check would.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Press:
    """Press a button of the previous turn: by index, or the first whose payload contains
    ``choice``; without a matching button, type ``fallback`` (as on SMS)."""

    choice: int | str
    fallback: str = "1"

    def message(self, buttons: list[dict]) -> str:
        if isinstance(self.choice, int):
            if -len(buttons) <= self.choice < len(buttons):
                return buttons[self.choice]["payload"]
        else:
            for button in buttons:
                if self.choice in button["payload"]:
                    return button["payload"]
        return self.fallback


@dataclass(frozen=True)
class AnswerForm:
    """Answer form questions with button ``choice`` (clamped to the buttons offered) while the
    bot asks them, at most ``limit`` times."""

    choice: int
    limit: int = 6

    def asks(self, buttons: list[dict]) -> bool:
        return bool(buttons) and all(b["payload"].startswith("/inform") for b in buttons)

    def message(self, buttons: list[dict]) -> str:
        return buttons[min(self.choice, len(buttons) - 1)]["payload"]


Step = str | Press | AnswerForm


@dataclass(frozen=True)
class Conversation:
    name: str
    steps: tuple[Step, ...]


def _conv(name: str, *steps: Step) -> Conversation:
    return Conversation(name, steps)


# Short conversations as parents and toeleiders have them, in six languages: greeting and
# language menu, care types, price, loket contact, the priority / reduced-rate check answered
# with buttons, and the free-place search through to its second page of results.
OURS: tuple[Conversation, ...] = (
    _conv("nl-info", "hallo", Press('"nl"'), "wat is een onthaalouder", "hoeveel kost de opvang",
          "waar is het loket en wanneer zijn jullie open", "bedankt", "dag"),
    _conv("nl-priority", "heb ik voorrang in de crèche?", AnswerForm(0), "dank je wel"),
    _conv("en-places", "I am looking for a free place in Mechelen", "next month", "1 year",
          Press(2, "3"), Press("page"), "thanks, bye"),
    _conv("fr-reduced-rate", "bonjour", Press('"fr"'),
          "est ce que je peux payer moins cher la creche", AnswerForm(2),
          "quelles sont les heures d'ouverture du guichet", "merci au revoir"),
    _conv("tr-price-human", "merhaba", Press('"tr"'), "kres ne kadar tutuyor",
          "bir calisanla konusmak istiyorum"),
    _conv("en-toeleider-priority", "i am a social worker at the OCMW asking for a family",
          "does the family get priority", AnswerForm(1), "can i talk to a real person"),
    _conv("ar-care-price-places", "السلام عليكم", Press('"ar"'),
          "ما هي أنواع رعاية الأطفال الموجودة", "شحال كيسوا الكريش فالنهار",
          "salam wach kayn blasa f creche f mechelen", "الشهر الجاي", "8 شهور", Press(2, "3")),
    _conv("uk-care-contact", "привіт", Press('"uk"'), "які бувають види догляду за дітьми",
          Press(1), "де знаходиться loket і коли він працює"),
    _conv("nl-menu-buttons", "hoi", Press('"nl"'), Press("/ask_care_types"), Press(3),
          Press("/ask_care_types"), Press("/ask_price"), "ok bedankt"),
)


def _examples(block: str) -> list[str]:
    return [line.strip()[2:].strip() for line in block.splitlines()
            if line.strip().startswith("- ")]


def stock_conversations(project: Path, seed: int, count: int = 24) -> tuple[Conversation, ...]:
    """Conversations from the stock bot's own data: each story (and the rules, chained) as a
    sequence of intents, each intent said with a random example of its training data."""
    data = project / "data"
    nlu = yaml.safe_load((data / "nlu.yml").read_text())["nlu"]
    examples = {item["intent"]: _examples(item["examples"]) for item in nlu if "intent" in item}
    paths = [[s["intent"] for s in story["steps"] if "intent" in s]
             for story in yaml.safe_load((data / "stories.yml").read_text())["stories"]]
    rules = yaml.safe_load((data / "rules.yml").read_text())["rules"]
    paths.append(["greet"] + [s["intent"] for r in rules for s in r["steps"] if "intent" in s])
    rng = random.Random(seed)
    result = []
    for i in range(count):
        path = paths[i % len(paths)]
        result.append(Conversation(f"stock-{'-'.join(path)}",
                                   tuple(rng.choice(examples[intent]) for intent in path)))
    return tuple(result)


# Messages no classifier should place (the fallbacks of a mixed load).
FALLBACKS = ("asdf qwerty", "???", "ok en nu", "hmm 🤔", "zxcv 123 blabla", "...")
# Intents of our own that start a form: in a mixed load the form is answered once, or not at
# all, and then interrupted by anything else.
FORM_INTENTS = ("check_priority", "check_reduced_rate", "start_intake", "find_free_place")
MIXED_LENGTH = 12  # messages of one mixed conversation


def examples_by_intent(*files: Path) -> dict[str, list[str]]:
    """Intent -> training examples, over the NLU files given (all languages together)."""
    examples: dict[str, list[str]] = {}
    for path in files:
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in item:
                examples.setdefault(item["intent"], []).extend(
                    _ANNOTATION.sub(r"\1", text) for text in _examples(item["examples"]))
    return {k: v for k, v in examples.items() if v}


# an entity in training data, ``[text]{"entity": …}`` or ``[text](entity)``: only its text
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\{[^}]*\}|\([^)]*\))")


def mixed_conversations(examples: dict[str, list[str]], seed: int, count: int = 24,
                        length: int = MIXED_LENGTH) -> tuple[Conversation, ...]:
    """The mixed load: in one conversation random messages of every intent and (for ours)
    every language, forms started and interrupted (answered once or not at all), and
    fallbacks (one message in six). The intents are dealt like cards (each once before any
    comes again), so every one is said in the first conversations."""
    rng = random.Random(seed)
    intents = sorted(examples)
    deck: list[str] = []
    result = []
    for i in range(count):
        steps: list[Step] = []
        while len(steps) < length:
            if not deck:
                deck = intents[:]
                rng.shuffle(deck)
            intent = deck.pop()
            steps.append(rng.choice(FALLBACKS) if rng.random() < 1 / 6
                         else rng.choice(examples[intent]))
            if intent in FORM_INTENTS and rng.random() < 0.5:
                steps.append(AnswerForm(rng.randrange(3), limit=1))  # then interrupted
        result.append(Conversation(f"mixed-{i}", tuple(steps[:length])))
    return tuple(result)
