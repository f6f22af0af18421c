"""Shared pieces of the command line (``python -m bot …``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn


class CliError(Exception):
    """Bad input on the command line: printed as one line on stderr, exit code 2."""


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


class OneLineParser(argparse.ArgumentParser):
    """Argument errors are one clear line on stderr (the contract), not a usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
