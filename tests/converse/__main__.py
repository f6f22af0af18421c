"""``python -m tests.converse``: run the personas against a fresh assistant and print the table
(``make converse-eval``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tests.converse import personas as persona_files
from tests.converse.runner import (
    MAX_TURNS,
    THREADS,
    Assistant,
    failure_report,
    run_personas,
    summary,
    table,
    to_json,
    unmapped_report,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.converse", description=__doc__)
    parser.add_argument("--lang", action="append",
                        help="only these languages (repeat, or nl,en); default: every file")
    parser.add_argument("--split", choices=("tune", "heldout", "all"), default="all")
    parser.add_argument("--persona", action="append", help="only this persona id (repeat)")
    parser.add_argument("--show-failures", action="store_true",
                        help="transcripts and differences of failing tune personas")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--max-turns", type=int, default=MAX_TURNS)
    parser.add_argument("--var", type=Path,
                        help="keep the assistant's state and serve.log in this (new) folder")
    args = parser.parse_args(argv)

    langs = [code for item in args.lang for code in item.split(",")] if args.lang else None
    try:
        chosen = persona_files.load(langs)
    except persona_files.PersonaError as err:
        print(f"converse-eval: {err}", file=sys.stderr)
        return 2
    if args.split != "all":
        chosen = [p for p in chosen if p.split == args.split]
    if args.persona:
        unknown = set(args.persona) - {p.id for p in chosen}
        if unknown:
            print(f"converse-eval: no persona {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        chosen = [p for p in chosen if p.id in args.persona]
    if not chosen:
        print("converse-eval: no personas selected", file=sys.stderr)
        return 2
    days = {p.today.isoformat() for p in chosen}
    if len(days) != 1:
        print(f"converse-eval: persona files disagree on today: {sorted(days)}",
              file=sys.stderr)
        return 2

    started = time.monotonic()
    print(f"converse-eval: starting the assistant (today {days.pop()})…", file=sys.stderr)
    if args.var:
        args.var.mkdir(parents=True, exist_ok=False)
    with Assistant(chosen[0].today.isoformat(), args.var) as assistant:
        print(f"converse-eval: {len(chosen)} personas, {args.threads} at a time…",
              file=sys.stderr)
        results = run_personas(chosen, assistant, args.threads, args.max_turns)
        died = assistant.proc is not None and assistant.proc.poll() is not None
    print(table(summary(results)))
    print(f"({len(results)} personas in {time.monotonic() - started:.0f} s; held-out personas "
          "are reported only as figures)")
    unmapped = unmapped_report(results)
    if unmapped:
        print("\n" + unmapped)
    if args.show_failures:
        print("\n" + failure_report(results))
    if died:  # killed from outside, or crashed: the conversations after it are not answers
        print("converse-eval: the assistant stopped during the run; these figures are not "
              f"valid (its log: {'--var keeps it' if not args.var else args.var / 'serve.log'})",
              file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(to_json(results), ensure_ascii=False, indent=1,
                                        default=str), encoding="utf-8")
    return 1 if died else 0


if __name__ == "__main__":
    sys.exit(main())
