"""A local spool for inbound messages while the database is down.

Twilio does not retry an inbound message webhook that failed, so a message must be kept
before the webhook answers even when the message store is unreachable. It is appended to a
JSON-lines file in ``<var>/spool`` (flushed and fsynced), and moved into the store as soon as
the store answers again, by any worker on this machine; the store's unique key drops a message
that made it in twice.

Writers append under an exclusive ``flock``; a drainer takes a file away by renaming it under
the same lock, so that no line is written to a file after it was read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from connectors.messages import Inbound

logger = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path, worker: str) -> None:
        self.directory, self.worker = directory, worker

    @property
    def _own(self) -> Path:
        return self.directory / f"{self.worker}.jsonl"

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[int]:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # also releases the lock

    def append(self, message: Inbound) -> None:
        """Keep one message on disk (raises OSError when even that is impossible)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(dataclasses.asdict(message), ensure_ascii=False) + "\n").encode()
        while True:
            with self._locked(self._own) as fd:
                # a drainer may have renamed the file while we waited for the lock
                if not self._own.exists() or os.fstat(fd).st_ino != self._own.stat().st_ino:
                    continue
                os.write(fd, line)
                os.fsync(fd)
                return

    def pending(self) -> bool:
        return self.directory.is_dir() and any(self.directory.iterdir())

    def drain(self, store: Callable[[Inbound], object]) -> int:
        """Hand every spooled message to ``store`` (which raises while the database is still
        down); a file is deleted only when all its messages were stored. The count stored."""
        if not self.directory.is_dir():
            return 0
        for path in self.directory.glob("*.jsonl"):
            with contextlib.suppress(FileNotFoundError), self._locked(path):
                path.rename(self.directory / f"{uuid.uuid4().hex}.draining")
        stored = 0
        for path in sorted(self.directory.glob("*.draining")):
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:  # another worker finished it
                continue
            for line in lines:
                if line.strip():
                    store(Inbound(**json.loads(line)))
                    stored += 1
            path.unlink(missing_ok=True)
        if stored:
            logger.info("spool: moved %d message(s) into the message store", stored)
        return stored
