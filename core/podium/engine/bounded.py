"""Run independent calls on threads within a global bound and per-key limits.

Refresh asks plugins about many things at once (provisioner reads): each call
waits on a remote system, so threads overlap them. Every task names the limits
it counts against (its provisioner's ``max_parallel``, its plugin's
``engine.per_plugin``). Each worker thread takes the next task whose limits all
have room, so a tightly limited provisioner never holds threads that another
provisioner's tasks could use, and a finished call is followed by the next one
on the same thread without a round trip through the caller.

After the first failure (or an interrupt of the caller) no further task starts;
those already running finish.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Task(Generic[T]):
    """One call, and the keys of the limits it counts against while it runs."""

    call: Callable[[], T]
    limits: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """How one task ended: its value, its exception, or never started (after a failure)."""

    value: T | None = None
    error: BaseException | None = None
    started: bool = True


def run_bounded(
    tasks: Sequence[Task[T]],
    *,
    parallelism: int,
    limits: Mapping[Hashable, int | None],
    thread_name: str = "podium-bounded",
) -> list[Outcome[T]]:
    """Run ``tasks``; the outcomes come back in the tasks' order.

    At most ``parallelism`` tasks run at once, and at most ``limits[key]`` of those
    whose :attr:`Task.limits` include ``key`` (keys without a limit, or with ``0``
    or ``None``, do not bound: an unset ``max_parallel`` means no limit). Each task
    runs in a copy of the caller's context, so the caller's tracing span and log
    context are its parents.
    """
    if not tasks:
        return []
    return _Run(tasks, limits).run(max(1, parallelism), thread_name)


class _Run(Generic[T]):
    def __init__(self, tasks: Sequence[Task[T]], limits: Mapping[Hashable, int | None]) -> None:
        self.tasks = tasks
        self.limits = {key: n for key, n in limits.items() if n}
        self.outcomes: list[Outcome[T]] = [Outcome(started=False)] * len(tasks)
        # Tasks with the same bounding keys wait in one queue, in their order.
        self.queues: dict[tuple[Hashable, ...], deque[int]] = {}
        for index, task in enumerate(tasks):
            keys = tuple(key for key in task.limits if key in self.limits)
            self.queues.setdefault(keys, deque()).append(index)
        self.active: dict[Hashable, int] = dict.fromkeys(self.limits, 0)
        self.stopped = False
        self.cond = threading.Condition()
        self.context = contextvars.copy_context()

    def run(self, parallelism: int, thread_name: str) -> list[Outcome[T]]:
        workers = min(parallelism, len(self.tasks))
        with ThreadPoolExecutor(workers, thread_name_prefix=thread_name) as pool:
            futures = [pool.submit(self._work) for _ in range(workers)]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                self._stop()  # an interrupt: let running calls finish, start no more
                raise
        return self.outcomes

    def _stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def _next(self) -> tuple[int, tuple[Hashable, ...]] | None:
        """The next task whose limits have room (taking them), or ``None`` when done."""
        with self.cond:
            while True:
                if self.stopped or not self.queues:
                    return None
                for keys, queue in self.queues.items():
                    if all(self.active[key] < self.limits[key] for key in keys):
                        index = queue.popleft()
                        if not queue:
                            del self.queues[keys]
                        for key in keys:
                            self.active[key] += 1
                        return index, keys
                # Everything left waits for a limit: a running task frees one.
                self.cond.wait()

    def _work(self) -> None:
        while (taken := self._next()) is not None:
            index, keys = taken
            try:
                outcome: Outcome[T] = Outcome(value=self.context.copy().run(self.tasks[index].call))
            except BaseException as exc:  # handed to the caller, who raises it
                outcome = Outcome(error=exc)
            with self.cond:
                self.outcomes[index] = outcome
                for key in keys:
                    self.active[key] -= 1
                self.stopped = self.stopped or outcome.error is not None
                self.cond.notify_all()
