"""The operations a platform is running: what ``cancel()`` reaches and ``close()`` waits for.

Each public operation that touches state (plan, apply, rollback...) runs inside
:meth:`ActiveRuns.run`, which hands it a stop :class:`threading.Event`. The
executor checks that event before it schedules each change, so a cancel lets the
changes already running finish and be journaled, then ends the run cleanly (lease
released, history ``cancelled``). Operations nest per thread (``up`` is a plan and
an apply): the inner ones share the outer one's event, so a cancel between the two
is not lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from podium.errors import ClosedError


@dataclass(eq=False)
class _Run:
    stop: threading.Event = field(default_factory=threading.Event)
    depth: int = 0


#: the runs the current context is inside, by platform (``id`` of its ActiveRuns). A
#: context variable, not the thread: the executor runs each change in a copy of the
#: apply's context, so an event callback on a worker thread is still "inside" the run.
_INSIDE: ContextVar[dict[int, _Run]] = ContextVar("podium_inside_runs", default={})  # noqa: B039


class ActiveRuns:
    """Tracks one platform's running operations."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._changed = threading.Condition()
        self._runs: set[_Run] = set()
        self._closing = False
        #: the platform's final close, when close() was called from inside a run
        self._deferred_close: Callable[[], None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing

    def closed_error(self) -> ClosedError:
        return ClosedError(
            f"platform {self._name!r} is closed", hint="build a new Platform to go on"
        )

    def _inside(self) -> _Run | None:
        return _INSIDE.get().get(id(self))

    @contextmanager
    def run(self) -> Iterator[threading.Event]:
        """Register the calling context's operation; yields its stop event."""
        current = self._inside()
        with self._changed:
            if current is None:
                if self._closing:
                    raise self.closed_error()
                current = _Run()
                self._runs.add(current)
            current.depth += 1
        token = _INSIDE.set({**_INSIDE.get(), id(self): current})
        try:
            yield current.stop
        finally:
            _INSIDE.reset(token)
            finish: Callable[[], None] | None = None
            with self._changed:
                current.depth -= 1
                if current.depth == 0:
                    self._runs.discard(current)
                    self._changed.notify_all()
                    if not self._runs and self._deferred_close is not None:
                        finish, self._deferred_close = self._deferred_close, None
            if finish is not None:
                finish()

    def current_stop(self) -> threading.Event | None:
        """The stop event of the operation the caller is inside, if any."""
        current = self._inside()
        return current.stop if current is not None else None

    def cancel(self) -> int:
        """Ask every running operation to stop scheduling; returns how many were running."""
        with self._changed:
            for current in self._runs:
                current.stop.set()
            return len(self._runs)

    def close(self, finish: Callable[[], None]) -> None:
        """Refuse new operations, cancel the running ones, then ``finish`` once none runs.

        Called from inside a run (an event callback, say), it cannot wait for that run:
        ``finish`` then runs when the last operation ends, and close() returns at once.
        """
        with self._changed:
            if self._closing:
                return
            self._closing = True
            for current in self._runs:
                current.stop.set()
            if self._inside() is not None:
                self._deferred_close = finish
                return
            while self._runs:
                self._changed.wait()
        finish()
