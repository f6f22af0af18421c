"""Remove from data/nlu/<lang>.yml every training example that also stands in the held-out set
tests/nlu/<lang>.yml (case-insensitive). The held-out set is never changed to fit training.

Usage: .venv/bin/python scripts/drop_heldout_overlap.py LANG [LANG ...]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from rasa.shared.nlu.training_data.loading import load_data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = re.compile(r"^(\s*)- (.*)$")
ANNOTATION = re.compile(r"\[([^\]]+)\](\{[^}]*\}|\([^)]*\))")


def plain(example: str) -> str:
    return ANNOTATION.sub(r"\1", example).strip().casefold()


def main(langs: list[str]) -> None:
    for lang in langs:
        held = {m.get("text").strip().casefold()
                for m in load_data(str(ROOT / f"tests/nlu/{lang}.yml")).intent_examples}
        path = ROOT / f"data/nlu/{lang}.yml"
        kept, dropped = [], []
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            m = EXAMPLE.match(line.rstrip("\n"))
            if m and len(m.group(1)) >= 4 and plain(m.group(2)) in held:
                dropped.append(m.group(2))
                continue
            kept.append(line)
        path.write_text("".join(kept), encoding="utf-8")
        print(f"{lang}: dropped {len(dropped)}: {dropped}")


if __name__ == "__main__":
    main(sys.argv[1:])
