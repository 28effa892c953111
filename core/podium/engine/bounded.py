"""Run independent calls on threads within a global bound and per-key limits.

Refresh asks plugins about many things at once (provisioner reads): each call
waits on a remote system, so threads overlap them. Every task names the limits
it counts against (its provisioner's ``max_parallel``, its plugin's
``engine.per_plugin``); a task is only handed to a thread once all of them have
room, so a tightly limited provisioner never holds threads that another
provisioner's tasks could use.

After the first failure no further task starts; those already running finish.
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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


NOT_STARTED: Outcome[object] = Outcome(started=False)


def run_bounded(
    tasks: Sequence[Task[T]],
    *,
    parallelism: int,
    limits: Mapping[Hashable, int],
    thread_name: str = "podium-bounded",
) -> list[Outcome[T]]:
    """Run ``tasks``; the outcomes come back in the tasks' order.

    At most ``parallelism`` tasks run at once, and at most ``limits[key]`` of those
    whose :attr:`Task.limits` include ``key`` (keys without a limit, or with ``0``
    or ``None``, do not bound: an unset ``max_parallel`` means no limit).
    Each task runs in a copy of the caller's context, so the tracing span and the
    log context of the caller are its parents.
    """
    outcomes: list[Outcome[T]] = [NOT_STARTED] * len(tasks)  # type: ignore[list-item]
    if not tasks:
        return outcomes
    # Tasks with the same limit keys wait in one queue, in their order.
    queues: dict[tuple[Hashable, ...], deque[int]] = {}
    for index, task in enumerate(tasks):
        bounded = tuple(key for key in task.limits if limits.get(key))
        queues.setdefault(bounded, deque()).append(index)
    active: dict[Hashable, int] = dict.fromkeys(limits, 0)
    running: dict[Future[T], tuple[int, tuple[Hashable, ...]]] = {}
    slots = max(1, parallelism)
    failed = False

    with ThreadPoolExecutor(min(slots, len(tasks)), thread_name_prefix=thread_name) as pool:

        def start_what_fits() -> None:
            for keys, queue in queues.items():
                while (
                    queue
                    and len(running) < slots
                    and all(active[key] < limits[key] for key in keys)
                ):
                    index = queue.popleft()
                    for key in keys:
                        active[key] += 1
                    context = contextvars.copy_context()
                    running[pool.submit(context.run, tasks[index].call)] = (index, keys)
                if len(running) >= slots:
                    return

        start_what_fits()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, keys = running.pop(future)
                for key in keys:
                    active[key] -= 1
                error = future.exception()
                if error is None:
                    outcomes[index] = Outcome(value=future.result())
                else:
                    outcomes[index] = Outcome(error=error)
                    failed = True
            if not failed:
                start_what_fits()
    return outcomes
