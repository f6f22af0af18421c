"""Command line: ``python -m bot <command> …``.

Each command lives in its own module exposing ``configure(parser)`` and ``run(args) -> int``;
only the module of the command that is run gets imported, so a quick command does not pay for
loading Rasa or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import sys

from bot.cli import CliError, OneLineParser

COMMANDS: dict[str, tuple[str, str]] = {
    "eligibility": ("bot.eligibility.cli", "evaluate priority and reduced-rate rules"),
    "places": ("bot.places.cli", "search, import, export and generate free places"),
    "requests": ("bot.intake.cli", "list recorded care requests (snelfiches)"),
    "serve": ("bot.serve", "start action server and Rasa server in the foreground"),
    "serve-scaled": ("bot.scaled", "2 Rasa + 2 action servers behind nginx, PostgreSQL, Redis"),
    "inbox": ("bot.inbox.cli", "the loket's inbox and web chat; staff accounts"),
    "chat": ("bot.chat", "chat with a running assistant in this terminal"),
    "nlu-report": ("bot.nlu_report", "per-language intent accuracy on held-out data"),
    "langid-bench": ("bot.langid_bench", "accuracy and speed of the language detectors"),
    "purge": ("bot.privacy.cli", "delete data past its retention period"),
    "family": ("bot.privacy.cli", "export or delete everything stored about one family"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = OneLineParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    if not argv or argv[0] not in COMMANDS:
        for name, (_, help_text) in COMMANDS.items():
            sub.add_parser(name, help=help_text)
        parser.parse_args(argv)  # prints usage and exits
        return 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    command_parser = sub.add_parser(name, help=COMMANDS[name][1])
    module.configure(command_parser)
    args = parser.parse_args(argv)
    try:
        return int(module.run(args) or 0)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
