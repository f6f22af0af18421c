"""Benchmark of the language detectors on the project's own multilingual messages.

The message set is every held-out NLU example (``tests/nlu/<lang>.yml``), labelled with its
file's language: short, informal phone messages, some mixed or in Latin-script Arabic, which
is exactly what the assistant receives. Prints accuracy and ms/message per backend, and how
often the sticky rule (``bot.language.assess``) would switch, and to the right language.
"""

from __future__ import annotations

import argparse
import time

from bot import language
from bot.cli import print_json
from bot.i18n import SUPPORTED


def messages() -> list[tuple[str, str]]:
    from bot.nlu_report import held_out

    return [(text, lang) for lang in SUPPORTED for text, _ in held_out(lang)]


def _detect(det: language.Detector, text: str) -> str | None:
    """The detector's answer, after the script rule the assistant applies first."""
    return language.script_language(text) or det.detect(text).lang


def bench(backend: str, with_unsupported: bool, data: list[tuple[str, str]]) -> dict:
    det = language.detector(backend, with_unsupported)
    det.detect("warm-up")
    per_lang = {lang: [0, 0] for lang in SUPPORTED}
    start = time.perf_counter()
    results = [(_detect(det, text), gold) for text, gold in data]
    elapsed = time.perf_counter() - start
    for predicted, gold in results:
        per_lang[gold][0] += predicted == gold
        per_lang[gold][1] += 1
    switches = correct_switches = 0
    for text, gold in data:
        found = language.assess(text, det)
        if found.switch:
            switches += 1
            correct_switches += found.switch == gold
    return {
        "backend": backend,
        "candidates": "ours+unsupported" if with_unsupported else "ours only",
        "accuracy": round(sum(c for c, _ in per_lang.values()) / len(data), 4),
        "per_language": {k: round(c / n, 3) for k, (c, n) in per_lang.items()},
        "ms_per_message": round(1000 * elapsed / len(data), 3),
        "switch_rate": round(switches / len(data), 3),
        "switch_precision": round(correct_switches / switches, 4) if switches else None,
    }


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    data = messages()
    rows = [bench(b, u, data) for b in ("lingua", "langdetect") for u in (False, True)]
    if args.json:
        print_json({"messages": len(data), "results": rows})
        return 0
    print(f"language ID on {len(data)} held-out chat messages in {', '.join(SUPPORTED)}")
    print(f"{'backend':<11}{'candidates':<18}{'accuracy':>9}{'ms/msg':>8}"
          f"{'switch%':>9}{'switch precision':>18}  per language")
    for r in rows:
        per = " ".join(f"{k}={v:.2f}" for k, v in r["per_language"].items())
        print(f"{r['backend']:<11}{r['candidates']:<18}{r['accuracy']:>9.1%}"
              f"{r['ms_per_message']:>8}{r['switch_rate']:>9.1%}"
              f"{(r['switch_precision'] or 0):>18.1%}  {per}")
    return 0
