"""What a run does with its lease's fencing epoch: write through a fenced store, notice
when the fence trips, and say what may have happened without being recorded.

A lease can be lost while its run still works: the process was paused past the
lease's TTL and another run took over, or someone removed the lock. The store
refuses every write of the old lease (each backend checks the epoch atomically
with the write: see :meth:`podium.platform.contract.StateStore.fenced`). This
module is the run's side: :func:`guard` reports the first refused write so the
run stops starting work (:class:`podium.engine.runtime.LeaseLock`), and
:func:`lost_lease_report` names the changes that may have taken effect anyway.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

from podium.errors import LeaseLostError
from podium.platform.contract import StateStore


class _Guarded:
    """``store`` with every LeaseLostError it raises also handed to ``tripped``."""

    def __init__(self, store: StateStore, tripped: Callable[[LeaseLostError], None]) -> None:
        self._store = store
        self._tripped = tripped

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except LeaseLostError as exc:
                self._tripped(exc)
                raise

        return call


StateStore.register(_Guarded)


def guard(store: StateStore, tripped: Callable[[LeaseLostError], None]) -> StateStore:
    """``store``, calling ``tripped`` with each LeaseLostError before it propagates."""
    return cast(StateStore, _Guarded(store, tripped))


def lost_lease_report(run_id: str, cause: object, results: Sequence[Any]) -> LeaseLostError:
    """The error of a run that lost its lease, from its NodeResults (uid, action, status, attempts).

    A change that started and then failed may have taken effect without its outcome
    being recorded (its call was in flight, or the write of its outcome was refused):
    those are named. Changes that never started are only counted.
    """
    in_flight = [f"{r.action} {r.uid}" for r in results if r.status == "failed" and r.attempts >= 1]
    not_started = sum(1 for r in results if r.status == "skipped" or r.attempts == 0)
    reason = getattr(cause, "message", None) or str(cause)
    lines = [f"run {run_id} lost its lease on the state and stopped: {reason}"]
    if in_flight:
        lines.append(
            "these changes were started and may have taken effect without being recorded: "
            + ", ".join(in_flight)
        )
    if not_started:
        lines.append(f"{not_started} change(s) did not start")
    return LeaseLostError(
        "\n  ".join(lines),
        in_flight=[r.uid for r in results if r.status == "failed" and r.attempts >= 1],
        hint="another run holds the state now; once it is done, run 'podium plan': what "
        "it shows as missing is re-created or adopted by name on the next apply, and "
        "anything made outside a recorded name must be removed by hand",
    )
