"""``python -m bot.inbox …``: the same commands as ``python -m bot inbox …``."""

from __future__ import annotations

import sys

from bot.cli import CliError, OneLineParser
from bot.inbox import cli

parser = OneLineParser(prog="python -m bot.inbox")
cli.configure(parser)
try:
    sys.exit(int(cli.run(parser.parse_args()) or 0))
except CliError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
