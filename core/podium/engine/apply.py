"""Apply a plan: walk the graph in parallel, journal every side effect, isolate failures.

Scheduling (:mod:`podium.engine.scheduler`): a change starts when every change it
depends on has succeeded. A failed change skips its dependents (transitively);
independent work goes on. Deletes run in reverse dependency order. At most
``parallelism`` changes run at once, and at most ``engine.per_plugin[plugin]`` (or
the registration's ``max_parallel``) per plugin. Each node kind has its handler
(:mod:`podium.engine.handlers`).

Crash safety: before each side effect an :class:`Intent` is written to state;
the outcome and the node's record are written in one transaction after it. A
run killed in between leaves a pending intent that :mod:`podium.engine.reconcile`
resolves by asking the provider what really exists (:mod:`podium.engine.journal`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from podium.engine.handlers.context import Unchanged
from podium.errors import ApplyFailedError, CancelledError, PodiumError

if TYPE_CHECKING:
    from podium.engine.journal import Completion
    from podium.engine.plan import Plan
    from podium.engine.runtime import EngineRuntime, LeaseLock

__all__ = ["ApplyResult", "Executor", "NodeResult", "NodeStatus", "Unchanged"]

NodeStatus = Literal["succeeded", "unchanged", "failed", "skipped"]


@dataclass
class NodeResult:
    uid: str
    action: str
    status: NodeStatus
    message: str = ""
    attempts: int = 0
    seconds: float = 0.0
    error: PodiumError | None = field(default=None, repr=False)
    #: for journaled resource changes: what to record once the scheduler commits it
    completion: Completion | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "action": self.action,
            "status": self.status,
            "message": self.message,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ApplyResult:
    platform: str
    environment: str
    run_id: str
    results: list[NodeResult]
    seconds: float
    history_id: int | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    #: the run was cancelled: changes that had not started were skipped
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return all(r.status in ("succeeded", "unchanged") for r in self.results)

    @property
    def failed(self) -> list[NodeResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"succeeded": 0, "unchanged": 0, "failed": 0, "skipped": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "environment": self.environment,
            "run_id": self.run_id,
            "ok": self.ok,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "history_id": self.history_id,
            "cancelled": self.cancelled,
            "results": [r.to_dict() for r in self.results],
        }

    def raise_for_failures(self) -> None:
        """Raise :class:`ApplyFailedError`, or :class:`CancelledError` for a cancelled run."""
        if self.cancelled:
            done = sum(1 for r in self.results if r.status in ("succeeded", "unchanged"))
            raise CancelledError(
                f"{self.environment}: cancelled after {done} change(s); the changes that were "
                "running finished and are recorded, the others did not start",
                result=self,
                hint="run 'podium plan' to see what is left to do",
            )
        if not self.ok:
            failed = ", ".join(f"{r.uid} ({r.message})" for r in self.failed) or "none"
            skipped = sum(1 for r in self.results if r.status == "skipped")
            raise ApplyFailedError(
                f"apply failed: {failed}; {skipped} dependent change(s) skipped", result=self
            )


class Executor:
    """Runs one plan's changes against the providers, recording every outcome in state.

    The parts: :mod:`podium.engine.scheduler` (order, parallelism, journal rounds,
    cancellation), :mod:`podium.engine.node_run` (one change: span, events, retries),
    :mod:`podium.engine.handlers` (one handler per node kind) and
    :mod:`podium.engine.journal` (the journaling protocol).
    """

    def __init__(
        self,
        rt: EngineRuntime,
        plan: Plan,
        run_id: str,
        parallelism: int,
        lease: LeaseLock | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        from podium.engine.handlers import ApplyContext, Handlers
        from podium.engine.node_run import NodeRunner
        from podium.engine.scheduler import Scheduler

        self.rt = rt
        self.plan = plan
        self.run_id = run_id
        self.context = ApplyContext(rt, plan, run_id, stop, lease)
        self.handlers = Handlers(self.context)
        self.scheduler = Scheduler(
            plan.changes, NodeRunner(self.handlers, stop, lease), parallelism, lease, stop
        )

    @property
    def cancelled(self) -> bool:
        """Whether a cancel skipped any change (the run is then recorded as cancelled)."""
        return self.scheduler.cancelled

    def outputs_of(self, uid: str) -> dict[str, Any]:
        return self.context.outputs_of(uid)

    def render(self, workload_name: str) -> Any:
        return self.handlers.deployments.render(workload_name)

    def run(self) -> list[NodeResult]:
        """Apply every change; returns one result per change, in plan order."""
        return self.scheduler.run()
