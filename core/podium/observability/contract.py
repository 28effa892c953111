"""Events Podium emits about its own work, and the sinks and telemetry configs plugins provide."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Something that happened in a platform: ``kind`` is dotted (``node.succeeded``).

    ``data`` never holds secret values: the engine redacts before emitting.

    Kinds: ``plan.started``, ``plan.finished``, ``apply.started``, ``node.started``,
    ``node.retrying``, ``node.succeeded``, ``node.failed``, ``node.skipped``,
    ``apply.finished``, ``destroy.started``, ``destroy.finished``,
    ``rollback.finished``, ``plugin.failed``, ``policy.finding``.
    """

    kind: str
    platform: str
    environment: str | None = None
    node: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
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
