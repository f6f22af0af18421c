"""``rasa run`` with the API token from the environment or a file, never on the command line.

``python -m bot.rasa_server run --enable-api --model M --port P …`` takes ``rasa``'s own
arguments (without ``--auth-token``) and runs Rasa's own command line in this process with
the token of bot/tokens.py added. The arguments are changed inside this process only: the
command line every local user sees in ``ps`` (``/proc/<pid>/cmdline``) stays the one we were
started with, without the token.

``--interface`` defaults to ``RASA_INTERFACE``, else 127.0.0.1 (Rasa's own default is every
interface): the assistant is reachable from elsewhere only when that is asked for.

Before Rasa starts, our patches of Rasa are applied (``bot.rasa_ext.apply``: no silent fresh
start when the tracker store is down, the measured speed-ups); the stores of bot/rasa_ext/
are loaded by Rasa from endpoints.yml.
"""

from __future__ import annotations

import ipaddress
import os
import sys

from bot import tokens


def interface() -> str:
    """Where the Rasa server listens: RASA_INTERFACE, else loopback only."""
    return os.environ.get("RASA_INTERFACE", "").strip() or "127.0.0.1"


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def rasa_argv(argv: list[str], token: str) -> list[str]:
    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in argv):
        raise SystemExit("rasa_server: the token comes from RASA_TOKEN or RASA_TOKEN_FILE, "
                         "not from the command line")
    given = any(a in ("-i", "--interface") or a.startswith("--interface=") for a in argv)
    extra = [] if given else ["--interface", interface()]
    # "=": a token starting with "-" would otherwise read as an option
    return ["rasa", *argv, *extra, f"--auth-token={token}"]


def main(argv: list[str] | None = None) -> None:
    from rasa.__main__ import main as rasa_main

    from bot import rasa_ext

    # every Rasa server of ours starts here: the one place that patches Rasa (bot/rasa_ext/)
    rasa_ext.apply()
    sys.argv = rasa_argv(list(sys.argv[1:] if argv is None else argv), tokens.rasa_token())
    rasa_main()


if __name__ == "__main__":
    main()
