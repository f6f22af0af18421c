"""``python -m bot.rasa_server`` (``rasa`` with the token from the environment) with a
profiling switch, for ``chat_load.py --profile``.

SIGUSR1 starts cProfile in the server's main thread (where Sanic's event loop handles every
message) and around every ``asyncio.to_thread`` call (the channels' store transactions run in
worker threads, which a main-thread profile does not see); SIGUSR2 stops it and writes the
stats of all threads together to ``$BENCH_PROFILE_OUT``. Both measure CPU time
(``time.thread_time``), not wall time: a thread waiting for the GIL, a lock or the event loop's
next event costs nothing here, as in the benchmark's CPU figures. Start-up, model loading and
warm-up stay out of the profile.
"""

from __future__ import annotations

import asyncio
import cProfile
import functools
import os
import pstats
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def main() -> None:
    out = os.environ["BENCH_PROFILE_OUT"]
    state: dict[str, Any] = {"on": False, "main": cProfile.Profile(time.thread_time)}
    threads: list[cProfile.Profile] = []  # one per worker thread, merged at the dump
    local = threading.local()
    guard = threading.Lock()
    to_thread = asyncio.to_thread

    def profiled(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            if not state["on"]:
                return func(*args, **kwargs)
            profile = getattr(local, "profile", None)
            if profile is None or profile not in threads:  # new thread, or a new phase
                profile = local.profile = cProfile.Profile(time.thread_time)
                with guard:
                    threads.append(profile)
            return profile.runcall(func, *args, **kwargs)
        return run

    async def to_thread_profiled(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return await to_thread(profiled(func), *args, **kwargs)

    asyncio.to_thread = to_thread_profiled  # type: ignore[assignment]

    def start(_signum: int, _frame: object) -> None:
        with guard:
            threads.clear()
        state["main"] = cProfile.Profile(time.thread_time)  # each phase on its own
        state["on"] = True
        state["main"].enable()

    def stop(_signum: int, _frame: object) -> None:
        state["main"].disable()
        state["on"] = False
        stats = pstats.Stats(state["main"])
        with guard:
            for profile in threads:
                stats.add(profile)
        stats.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    from bot.rasa_server import main as rasa_main

    rasa_main(sys.argv[1:])


if __name__ == "__main__":
    main()
