"""No silent fresh start when the tracker store is down.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when the database does not answer,
``retrieve`` returns None (the conversation starts again from nothing) and ``save`` writes to
memory (the turn is lost at the next read). For a family that means a bot that suddenly
forgot everything it was told. Here the error is raised instead: the channel layer keeps the
message and handles it again when the database is back (connectors/inbound.py), and the REST
channel answers 500, so a client can repeat.

Applied in the Rasa server process only (``bot.rasa_ext.apply``), and only to the Rasa version
whose ``FailSafeTrackerStore`` it was written for (version.py).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import FailSafeTrackerStore

from bot.rasa_ext.version import supported

logger = logging.getLogger(__name__)
ORIGINALS: dict[str, Any] = {}  # what the patch replaced (the tests put it back)


async def _retrieve(self: FailSafeTrackerStore, sender_id: str) -> Any:
    return await self._tracker_store.retrieve(sender_id)


async def _retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: str) -> Any:
    return await self._tracker_store.retrieve_full_tracker(sender_id)


async def _save(self: FailSafeTrackerStore, tracker: Any) -> None:
    await self._tracker_store.save(tracker)


def apply() -> bool:
    if not supported("the tracker store's silent fallback"):
        return False
    patches = {"retrieve": _retrieve, "retrieve_full_tracker": _retrieve_full_tracker,
               "save": _save}
    for name, patch in patches.items():
        ORIGINALS.setdefault(name, getattr(FailSafeTrackerStore, name))
        setattr(FailSafeTrackerStore, name, patch)
    return True
