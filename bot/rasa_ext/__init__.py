"""Our extensions of Rasa, for the Rasa server process (bot/rasa_server.py) only.

- ``tracker_store``: the SQL tracker store with redaction, erasure on request and a validated
  cache (endpoints.yml ``tracker_store.type``: ``TRACKER_STORE``).
- ``lock_store``: the Redis lock store with atomic updates, for the scaled set-up
  (``lock_store.type``: ``LOCK_STORE``).
- ``failsafe``: a tracker store error fails the turn instead of Rasa's silent fresh start.
- ``speedups``: Rasa's action-reply check and rule search made cheaper.

The stores are loaded by Rasa from their class paths; the two patches of Rasa's own classes
are applied by ``apply()``, called once where the server starts, never as a side effect of an
import. Both patch Rasa's internals, so both refuse another Rasa version than the one they
were written and measured against (version.py).

Nothing heavy is imported here: bot/serve.py and bot/scaled.py read the class paths without
loading Rasa.
"""

from __future__ import annotations

TRACKER_STORE = "bot.rasa_ext.tracker_store.ErasingTrackerStore"
LOCK_STORE = "bot.rasa_ext.lock_store.AtomicRedisLockStore"


def apply() -> dict[str, bool]:
    """Patch Rasa in this process (idempotent): which patches hold, by name."""
    from bot.rasa_ext import failsafe, speedups

    return {"speedups": speedups.apply(), "failsafe": failsafe.apply()}
