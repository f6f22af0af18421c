"""Rasa's Redis lock store, made safe for several Rasa servers (the scaled set-up).

Rasa's ``RedisLockStore`` reads a conversation's ticket lock, changes it in Python and writes
it back. Two servers that take a ticket for one conversation at the same moment both read the
same queue, both get the same ticket number and handle the conversation at once: the second
turn is built on a tracker without the first one (RasaHQ/rasa#9213; the fix in Rasa was
reverted, #11428). The interleave test of tests/test_scaled.py caught it in about one pair
of simultaneous messages in sixteen. Here each read-change-write of a lock is one Redis
transaction (WATCH/MULTI): when another server changed the lock meanwhile, the change starts
over on the new state. Rasa's ticket queue is kept as it is (first come, first served).

A ticket lives ``BOT_LOCK_TICKET_S`` seconds (15) and its server renews it every 3 s while it
waits or holds the lock, up to Rasa's lock lifetime (``TICKET_LOCK_LIFETIME``, 60 s) as in
Rasa. So a killed server holds up its conversations for at most 15 s, not 60: a message that
nginx sent on to the other server, or that a channel picked up again, is handled soon.

Loaded by the Rasa server only (endpoints.yml ``lock_store.type``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")
TICKET_S = float(os.environ.get("BOT_LOCK_TICKET_S", "15"))
RENEW_EVERY_S = 3.0

logger = logging.getLogger(__name__)


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)
        self.ticket_s, self.renew_every_s = TICKET_S, RENEW_EVERY_S

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncIterator[TicketLock]:
        ticket = self.issue_ticket(conversation_id, min(self.ticket_s, lock_lifetime))
        renewing = asyncio.create_task(
            self._renew(conversation_id, ticket, time.time() + lock_lifetime))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            renewing.cancel()
            self.cleanup(conversation_id, ticket)

    async def _renew(self, conversation_id: str, number: int, until: float) -> None:
        """Keep our ticket alive while this server waits or works, up to ``until``."""
        def change(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            for ticket in lock.tickets if lock else ():
                if ticket.number == number and not ticket.has_expired():
                    ticket.expires = min(time.time() + self.ticket_s, until)
            return None, lock

        while time.time() < until:
            await asyncio.sleep(self.renew_every_s)
            try:
                self._change(conversation_id, change)
            except Exception:  # Redis gone for a moment: the next round tries again
                logger.warning("could not renew the lock of a conversation", exc_info=True)

    def _change(self, conversation_id: str,
                change: Callable[[TicketLock | None], tuple[T, TicketLock | None]]) -> T:
        """Apply ``change`` (old lock → result, new lock or None to delete) atomically."""
        key = self.key_prefix + conversation_id

        def transaction(pipe) -> T:  # redis.client.Pipeline, WATCHing key
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            result, lock = change(lock)
            pipe.multi()
            if lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps())
            return result

        return self.red.transaction(transaction, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def change(lock: TicketLock | None) -> tuple[int, TicketLock]:
            lock = lock or self.create_lock(conversation_id)
            return lock.issue_ticket(lock_lifetime), lock

        try:
            return self._change(conversation_id, change)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def change(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock:
                lock.remove_expired_tickets()
            return None, lock

        self._change(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def change(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock:
                lock.remove_ticket_for(ticket_number)
            return None, lock if lock and lock.is_someone_waiting() else None

        self._change(conversation_id, change)
