"""Events Podium emits about its own work, and the sinks and telemetry configs plugins provide."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar


class EventKind(StrEnum):
    """The kinds of event the core emits (a ``str``: ``EventKind.NODE_FAILED == "node.failed"``).

    ``data`` per kind: ``plan.finished``, ``apply.started``, ``destroy.started``: ``counts``
    (changes by action); ``apply.finished``, ``destroy.finished``: ``ok`` and ``counts``
    (results by status) and ``cancelled``; ``node.*``: ``action``; ``node.retrying``: ``attempt`` and
    ``delay`` (seconds);
    ``policy.finding``: ``finding`` (the finding as a dict); ``lock.waiting``: ``timeout``
    (seconds it waits at most for the run holding the lease); ``reconcile.failed``: ``error``
    (why a pending intent could not be checked; it stays pending); ``reconcile``:
    ``resolution`` (``gone``, ``adopt`` or ``retry``) when settled by ``podium state
    resolve``. Other kinds carry no data.
    """

    PLAN_STARTED = "plan.started"
    PLAN_FINISHED = "plan.finished"
    APPLY_STARTED = "apply.started"
    APPLY_FINISHED = "apply.finished"
    DESTROY_STARTED = "destroy.started"
    DESTROY_FINISHED = "destroy.finished"
    NODE_STARTED = "node.started"
    NODE_RETRYING = "node.retrying"
    NODE_SUCCEEDED = "node.succeeded"
    NODE_FAILED = "node.failed"
    NODE_SKIPPED = "node.skipped"
    ROLLBACK_FINISHED = "rollback.finished"
    ROLLBACK_FAILED = "rollback.failed"
    POLICY_FINDING = "policy.finding"
    DRIFT = "drift"
    RECONCILE = "reconcile"
    RECONCILE_FAILED = "reconcile.failed"
    LOCK_RECOVERED = "lock.recovered"
    LOCK_WAITING = "lock.waiting"
    PLUGIN_FAILED = "plugin.failed"


_KINDS = {kind.value: kind for kind in EventKind}


@dataclass(frozen=True)
class Event:
    """Something that happened in a platform: ``kind`` is dotted (``node.succeeded``).

    ``data`` never holds secret values: the engine redacts before emitting.

    A kind the core emits is an :class:`EventKind` (see it for each kind's ``data``);
    a plugin's own kinds, or a newer core's, stay plain strings: receivers must
    ignore kinds they do not know.
    """

    kind: EventKind | str
    platform: str
    environment: str | None = None
    node: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        known = _KINDS.get(self.kind)
        if known is not None:
            object.__setattr__(self, "kind", known)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "platform": self.platform,
            "environment": self.environment,
            "node": self.node,
            "message": self.message,
            "data": self.data,
            "timestamp": self.timestamp.isoformat(),
        }


class TelemetrySink(ABC):
    """Receives every platform event (to a file, a chat channel, a metrics system...).

    ``[telemetry] sinks = [NAME, ...]`` selects sinks. ``emit`` must be quick and
    must not raise for delivery problems: log them and drop the event.
    """

    name: ClassVar[str]

    @abstractmethod
    def emit(self, event: Event) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional for implementations
        """Flush and release resources; called when the platform closes."""


@dataclass(frozen=True)
class TelemetryConfig:
    """Monitoring a plugin set up for a deployed workload (scrape jobs, alerts, dashboards)."""

    provider: str
    description: str
    outputs: dict[str, Any] = field(default_factory=dict)
