"""``python -m bot.rasa_server`` (``rasa`` with the token from the environment) with a
profiling switch, for ``chat_load.py --profile``.

SIGUSR1 starts cProfile in the server's main thread (where Sanic's event loop handles every
message); SIGUSR2 stops it and writes the stats to ``$BENCH_PROFILE_OUT``. Start-up, model
loading and warm-up stay out of the profile.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys


def main() -> None:
    profiles = [cProfile.Profile()]
    out = os.environ["BENCH_PROFILE_OUT"]

    def start(_signum: int, _frame: object) -> None:
        profiles[0] = cProfile.Profile()  # each phase on its own
        profiles[0].enable()

    def stop(_signum: int, _frame: object) -> None:
        profiles[0].disable()
        profiles[0].dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    from bot.rasa_server import main as rasa_main

    rasa_main(sys.argv[1:])


if __name__ == "__main__":
    main()
