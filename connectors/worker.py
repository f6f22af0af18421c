"""The worker: each server process is one, with a heartbeat in the message store. Its sweep
beats, moves spooled messages (``connectors/spool.py``) into the store, takes over the stored
messages of workers that died and sends queued replies that are due (``connectors/outbox.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from connectors import messages
from connectors.messages import Inbound

if TYPE_CHECKING:
    from connectors.common import PhoneChatChannel

logger = logging.getLogger(__name__)

# One worker per server process, shared by its channels.
WORKER_ID = f"{socket.gethostname()[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _seconds(name: str, default: float) -> float:
    try:
        return max(0.05, float(os.environ.get(name, default)))
    except ValueError:
        return default


def sweep_interval() -> float:
    """How often a worker beats, takes over orphaned messages and retries queued replies."""
    return _seconds("CHANNEL_SWEEP_SECONDS", 5.0)


def resend_interval() -> timedelta:
    """How long a queued reply waits before the next try."""
    return timedelta(seconds=_seconds("CHANNEL_RESEND_SECONDS", 15.0))



class Worker:
    """The background part of a channel (mixed into ``PhoneChatChannel``)."""

    async def _sweep_forever(self: PhoneChatChannel) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store may be down: try again next round
                logger.warning("channel %s: sweep failed: %s", self.name(), exc)
            await asyncio.sleep(sweep_interval())

    async def sweep(self: PhoneChatChannel) -> None:
        """One round: beat, move spooled messages into the store, take over the messages of
        workers that died, send queued replies that are due."""
        await asyncio.to_thread(messages.beat, self.worker)
        await self._record_later()
        if self.spool.pending():
            await asyncio.to_thread(self.spool.drain, self._store_spooled)
        if self._agent() is not None:
            # the messages of dead workers, and this worker's own that are in no queue here
            # (stored from the spool, or given up after a long outage)
            rows = await asyncio.to_thread(messages.take_orphaned_inbound, self.channels,
                                           self.worker)
            rows = [r for r in rows if r["id"] not in self._queued]
            if rows:
                logger.info("channel %s: taking up %d stored message(s)", self.name(),
                            len(rows))
            for row in rows:
                self._submit(row["sender_id"], row["id"])
        await self.resend_due()

    def _store_spooled(self: PhoneChatChannel, message: Inbound) -> None:
        """Runs in a thread: the sweep after it submits what it stored."""
        if message.channel in self.channels:
            messages.record_inbound(message, None, self.worker)

