"""``python -m bot requests list --json``: recorded care requests with their status."""

from __future__ import annotations

import argparse

from bot.cli import print_json
from bot.db import session_scope, upgrade
from bot.intake.store import list_requests


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="list care requests")
    listing.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    upgrade()
    with session_scope() as session:
        rows = list_requests(session)
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(f"{row['id']:>5} {row['reference'] or '-':<10} {row['status']:<12} "
              f"{row['municipality'] or '-':<20} {row['created_at']}")
    return 0
