"""Per-language intent accuracy on the held-out sets (``tests/nlu/<lang>.yml``).

The held-out examples are never trained on. Prints accuracy per language, the most frequent
confusions, and (with ``--json``) the same as data for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import time
from pathlib import Path

from bot.cli import print_json
from bot.i18n import SUPPORTED
from bot.settings import ROOT

HELD_OUT = ROOT / "tests" / "nlu"


def held_out(lang: str) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(HELD_OUT / f"{lang}.yml"))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def evaluate(model_file: Path, langs: tuple[str, ...] = SUPPORTED) -> dict:
    from rasa.core.agent import Agent

    logging.getLogger("rasa").setLevel(logging.WARNING)
    agent = Agent.load(str(model_file))
    report: dict = {"model": model_file.name, "languages": {}}
    for lang in langs:
        examples = held_out(lang)
        confusions: collections.Counter = collections.Counter()
        fallback = correct = 0
        start = time.perf_counter()
        for text, gold in examples:
            parsed = asyncio.run(agent.parse_message(text))
            predicted = parsed["intent"]["name"]
            if predicted == "nlu_fallback":
                fallback += 1
                ranking = parsed.get("intent_ranking") or []
                predicted = next((r["name"] for r in ranking if r["name"] != "nlu_fallback"),
                                 predicted)
            if predicted == gold:
                correct += 1
            else:
                confusions[(gold, predicted)] += 1
        elapsed = time.perf_counter() - start
        report["languages"][lang] = {
            "examples": len(examples),
            "accuracy": round(correct / len(examples), 4),
            "below_fallback_threshold": fallback,
            "ms_per_message": round(1000 * elapsed / len(examples), 2),
            "top_confusions": [
                {"gold": g, "predicted": p, "count": c} for (g, p), c in confusions.most_common(8)
            ],
        }
    return report


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model", help="model file (default: the one matching current data)")


def run(args: argparse.Namespace) -> int:
    from bot import model

    report = evaluate(Path(args.model) if args.model else model.ensure_model())
    if args.json:
        print_json(report)
        return 0
    print(f"held-out intent accuracy (model {report['model']})")
    print(f"{'lang':<5}{'n':>5}{'accuracy':>10}{'fallback':>10}{'ms/msg':>8}")
    for lang, row in report["languages"].items():
        print(f"{lang:<5}{row['examples']:>5}{row['accuracy']:>10.1%}"
              f"{row['below_fallback_threshold']:>10}{row['ms_per_message']:>8}")
    for lang, row in report["languages"].items():
        tops = ", ".join(f"{c['gold']}→{c['predicted']} ×{c['count']}"
                         for c in row["top_confusions"][:5])
        print(f"  {lang} top confusions: {tops or '-'}")
    return 0
