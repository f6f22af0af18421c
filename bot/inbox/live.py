"""Live updates for the staff pages: server-sent events at /inbox/api/events.

Handoffs are opened by the action server and families write through Rasa, both in other
processes, so a watcher looks every second at what changed in the database: the open
handoffs (new, claimed, released, closed, labelled) and the newest tracker event of each open
conversation (a family message, a reply). Each change becomes an event for every open page:
``queue`` (with the number of families waiting, for the title badge) and ``conversation``
(with the handoff id, so that page fetches its new lines). The pages poll as a fallback
when the stream is not open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import bindparam, select, text

from bot import db
from bot.handoff import OPEN_STATUSES, Handoff

logger = logging.getLogger(__name__)
WATCH_SECONDS = 1.0  # with the page's reaction, a change shows within 2 s
KEEPALIVE_SECONDS = 15.0  # also how often a stream re-checks its session
QUEUE_SIZE = 100


class Hub:
    """Fan-out of events to the open streams of this process."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = set()
        self.waiting = 0
        # newest tracker event id per open conversation: the queue's cache key
        self.latest: dict[str, int] = {}

    def subscribe(self) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._queues.discard(queue)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck page misses one, reloads
                queue.put_nowait((kind, data))

    @property
    def listeners(self) -> int:
        return len(self._queues)


HUB = web.AppKey("live_hub", Hub)


@dataclass
class Snapshot:
    handoffs: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    latest_event: dict[str, int] = field(default_factory=dict)
    senders: dict[int, str] = field(default_factory=dict)

    @property
    def waiting(self) -> int:
        return sum(1 for row in self.handoffs.values() if row[0] == "waiting")


def snapshot(url: str | None = None, tracker_url: str | None = None) -> Snapshot:
    """The open handoffs and the newest tracker event id of each of their conversations."""
    snap = Snapshot()
    with db.session_scope(url) as session:
        for h in session.execute(select(Handoff).where(Handoff.status.in_(OPEN_STATUSES))
                                 ).scalars():
            snap.handoffs[h.id] = (h.status, h.claimed_by, h.labels, h.urgent)
            snap.senders[h.id] = h.sender_id
    if snap.senders:
        snap.latest_event = _latest_events(sorted(set(snap.senders.values())), tracker_url)
    return snap


def _latest_events(senders: list[str], tracker_url: str | None) -> dict[str, int]:
    from bot.privacy.tables import default_tracker_url

    query = text("SELECT sender_id, MAX(id) FROM events WHERE sender_id IN :senders "
                 "GROUP BY sender_id").bindparams(bindparam("senders", expanding=True))
    try:
        engine = db.get_engine(tracker_url or default_tracker_url())
        with engine.connect() as connection:
            return {sender: int(top) for sender, top in
                    connection.execute(query, {"senders": senders})}
    except Exception:  # no tracker store yet (a fresh install, the tests' fake Rasa)
        return {}


def changes(before: Snapshot, after: Snapshot) -> tuple[bool, set[int]]:
    """(did the queue change, which handoffs' pages should look again)."""
    ids = set(before.handoffs) | set(after.handoffs)
    touched = {i for i in ids if before.handoffs.get(i) != after.handoffs.get(i)}
    queue_changed = bool(touched)
    for hid, sender in after.senders.items():
        if after.latest_event.get(sender) != before.latest_event.get(sender):
            touched.add(hid)
            queue_changed = True  # the row's last words changed
    return queue_changed, touched


async def watch(app: web.Application) -> AsyncIterator[None]:
    """The watcher runs while the app does (``cleanup_ctx``)."""
    hub = app[HUB]

    async def loop() -> None:
        before = await asyncio.to_thread(snapshot)
        hub.waiting, hub.latest = before.waiting, before.latest_event
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                after = await asyncio.to_thread(snapshot)
            except Exception:  # the database is busy or away: try again next second
                logger.exception("live snapshot")
                continue
            queue_changed, touched = changes(before, after)
            before = after
            hub.waiting, hub.latest = after.waiting, after.latest_event
            for hid in sorted(touched):
                hub.publish("conversation", {"id": hid})
            if queue_changed:
                hub.publish("queue", {"waiting": after.waiting})

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _frame(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """The event stream of one staff page (a session is required, as for every /inbox/api).
    It ends when the session does: checked at every keep-alive."""
    from bot.inbox import auth, views

    hub = request.app[HUB]
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # the TLS proxy must not hold events back
        "X-Content-Type-Options": "nosniff"})
    await response.prepare(request)
    queue = hub.subscribe()
    cookie = request.cookies.get(views.COOKIE)
    try:
        await response.write(_frame("hello", {"waiting": hub.waiting}))
        while True:
            try:
                kind, data = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except asyncio.TimeoutError:
                if await asyncio.to_thread(auth.signed_in, cookie) is None:
                    break
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(_frame(kind, data))
    except (ConnectionResetError, RuntimeError):  # the page went away
        pass
    finally:
        hub.unsubscribe(queue)
    return response
