"""The mixed load of the chat benchmark (benchmarks/chat_conversations.py): every intent of
every language comes up, forms are interrupted, fallbacks are in it, and it is the same load
in every run."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from chat_conversations import (  # noqa: E402
    FALLBACKS,
    AnswerForm,
    examples_by_intent,
    mixed_conversations,
)

from bot.settings import LANGUAGES  # noqa: E402


def test_the_mixed_load_says_every_intent_in_every_language() -> None:
    files = sorted((ROOT / "data" / "nlu").glob("*.yml"))
    assert {f.stem for f in files} >= set(LANGUAGES)
    examples = examples_by_intent(*files)
    examples.pop("share_media", None)
    load = mixed_conversations(examples, seed=1)
    assert load == mixed_conversations(examples, seed=1)  # the same in every run
    texts = [s for c in load for s in c.steps if isinstance(s, str)]
    assert not any("]{" in t or "](" in t for t in texts)  # entity annotations stripped
    for lang in LANGUAGES:  # every language's examples in it
        own = {e for v in examples_by_intent(ROOT / "data" / "nlu" / f"{lang}.yml").values()
               for e in v}
        assert own & set(texts), lang
    said = {intent for intent, ex in examples.items() if set(ex) & set(texts)}
    assert said == set(examples)
    assert any(t in FALLBACKS for t in texts)
    # a form answered once and then interrupted by another message
    assert any(isinstance(a, AnswerForm) and isinstance(b, str)
               for c in load for a, b in zip(c.steps, c.steps[1:], strict=False))
