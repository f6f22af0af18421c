"""``python -m bot purge`` and ``python -m bot family``: the data lifecycle on the command line.

- ``purge [--dry-run] [--json]``: delete what is past its retention period (retention.py);
  safe to run daily from cron, and twice.
- ``family export SENDER [--json]``: everything stored about one conversation id (export.py).
- ``family delete SENDER [--json]``: delete it all now (a family's request to the loket;
  erasure.py).

One module serves both commands: ``bot/__main__.py`` names the sub-parser after the command,
so ``configure`` reads which one it is from the parser's ``prog``.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from bot import db
from bot.cli import CliError, print_json
from bot.privacy import erasure, export, retention

PURGE, FAMILY = "purge", "family"


def configure(parser: argparse.ArgumentParser) -> None:
    if parser.prog.split()[-1] == FAMILY:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="everything stored about one conversation id")
        export.add_argument("sender", help='conversation id, e.g. "whatsapp:+32470000000"')
        export.add_argument("--json", action="store_true", help="(the output is always JSON)")
        erase = sub.add_parser("delete", help="delete everything about one conversation id")
        erase.add_argument("sender", help='conversation id, e.g. "whatsapp:+32470000000"')
        erase.add_argument("--json", action="store_true")
        return
    parser.add_argument("--dry-run", action="store_true",
                        help="count what would be deleted, change nothing")
    parser.add_argument("--json", action="store_true")


def _print_counts(counts: dict[str, int], as_json: bool, header: str) -> None:
    if as_json:
        print_json(counts)
        return
    print(header)
    for key, value in counts.items():
        print(f"  {key:<24} {value}")


def run(args: argparse.Namespace) -> int:
    db.upgrade()
    if args.command == FAMILY:
        sender = args.sender.strip()
        if not sender:
            raise CliError("the conversation id is empty")
        if args.action == "export":
            print_json(export.export_sender(sender))
            return 0
        _print_counts(erasure.delete_sender(sender), args.json, f"deleted for {sender}:")
        return 0
    try:
        policy = retention.policy()
    except (OSError, ValueError) as exc:
        raise CliError(f"retention settings: {exc}") from exc
    counts = retention.purge(datetime.now(timezone.utc), dry_run=args.dry_run, retention=policy)
    _print_counts(counts, args.json, "would delete:" if args.dry_run else "deleted:")
    return 0
