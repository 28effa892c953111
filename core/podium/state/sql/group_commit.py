"""Group commit: writes queued while another thread commits are committed together.

The engine writes an intent before and an outcome after every node, from many
threads at once. On a database that takes one writer at a time a commit costs
far more than the statements in it, so one writer at a time leads: it commits
every queued write in one transaction and wakes each writer on its own event
(waking them through a shared mutex would hand the GIL from one sleeper to the
next in a convoy). Then it hands the lead to the first write queued meanwhile,
so no caller commits for others for long. A caller returns only after the
commit holding its write, so durability is unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class QueuedWrite:
    """One write waiting for a group commit, and its outcome."""

    __slots__ = ("done", "error", "event", "op", "result")

    def __init__(self, op: Callable[[Any], Any]) -> None:
        self.op = op
        self.done = False
        self.event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    """Queues writes; the leading writer hands each batch to ``commit`` under ``write_mutex``.

    ``commit(batch)`` must run every write of the batch, set each one's
    ``result`` or ``error``, and return only once the batch is committed (or failed).
    """

    def __init__(
        self, write_mutex: threading.Lock, commit: Callable[[list[QueuedWrite]], None]
    ) -> None:
        self._write_mutex = write_mutex
        self._commit = commit
        self._queue_lock = threading.Lock()
        self._queue: list[QueuedWrite] = []
        self._leading = False  # a writer is committing the queue

    def run(self, op: Callable[[Any], T]) -> T:
        """Run ``op(connection)`` in a transaction shared with concurrent writers."""
        item = QueuedWrite(op)
        with self._queue_lock:
            self._queue.append(item)
            lead = not self._leading
            self._leading = True
        if not lead:
            item.event.wait()
            lead = not item.done  # woken to take the lead, its write still queued
        if lead:
            with self._write_mutex:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    self._commit(batch)
                finally:
                    for queued in batch:
                        queued.done = True
                        queued.event.set()
            with self._queue_lock:
                if self._queue:
                    self._queue[0].event.set()  # the next leader
                else:
                    self._leading = False
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[no-any-return]
