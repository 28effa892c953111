"""The :class:`~podium.observability.TelemetrySink` conformance kit.

The contract: ``emit`` is quick and never raises (a delivery problem is logged and
the event dropped: a sink must not fail the platform's work), whatever the event
holds; ``close`` delivers what was emitted before it. Re-exported by
:mod:`podium.testing.conformance`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from podium.observability.contract import Event
from podium.testing._report import broken, call, redact_text, valid_name

#: The kinds the core emits today (see :class:`~podium.observability.Event`).
EVENT_KINDS = (
    "plan.started",
    "plan.finished",
    "apply.started",
    "node.started",
    "node.retrying",
    "node.succeeded",
    "node.failed",
    "node.skipped",
    "apply.finished",
    "destroy.started",
    "destroy.finished",
    "rollback.finished",
    "plugin.failed",
    "policy.finding",
)

NEVER_RAISES = (
    "emit never raises: a delivery problem is logged and the event dropped, "
    "so a sink can never fail the platform's work"
)


def odd_events(platform: str = "test") -> list[Event]:
    """Events a sink must take in its stride: empty, huge, unusual and unknown."""

    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    return [
        Event(kind="node.failed", platform=platform),
        Event(kind="plugin.custom-kind.from-a-newer-core", platform=platform, environment="dev"),
        Event(
            kind="node.succeeded",
            platform=platform,
            environment="dev",
            node="resource:postgres.default#web.db",
            message="unicode ✓ — ünïcödé\nsecond line\ttab \x00 nul",
            data={
                "when": datetime(2026, 1, 1, 12, 0),  # naive, unlike Event.timestamp
                "path": Path("/tmp/x"),
                "raw": b"\xff\x00",
                "set": {1, 2},
                "opaque": Opaque(),
                "nested": {"deep": [1, {"x": None}], "float": float("nan")},
                "password": "(sensitive)",
            },
        ),
        Event(kind="apply.finished", platform=platform, environment="dev", message="x" * 100_000),
        Event(
            kind="node.retrying",
            platform=platform,
            environment="dev",
            timestamp=datetime(1970, 1, 1, 0, 0),
        ),
    ]


class TelemetrySinkConformance:
    """The :class:`~podium.observability.TelemetrySink` contract.

    Provide ``telemetry_sink`` (a fresh sink per test). Optional fixtures:

    * ``delivered_events``: a function ``(sink) -> iterable`` returning what the
      sink delivered (file lines, received requests, stored rows...), called after
      ``close``; each emitted event's message is looked for in ``str()`` of what it
      returns, to check ``close`` flushed every event, in order;
    * ``break_delivery``: a function ``(sink)`` that makes delivery fail (remove the
      target directory's permissions, stop the receiving server...), to check
      ``emit`` still does not raise;
    * ``emit_budget``: seconds 20 emits may take together (default 5.0).
    """

    @pytest.fixture
    def delivered_events(self) -> Callable[[Any], Iterable[Any]] | None:
        return None

    @pytest.fixture
    def break_delivery(self) -> Callable[[Any], Any] | None:
        return None

    @pytest.fixture
    def emit_budget(self) -> float:
        return 5.0

    @pytest.fixture
    def open_sink(self, telemetry_sink: Any) -> Iterator[Any]:
        """The sink, closed after the test whatever happens."""
        yield telemetry_sink
        call("close() in the kit's cleanup", telemetry_sink.close)

    @staticmethod
    def _emit(sink: Any, event: Event, when: str) -> None:
        try:
            sink.emit(event)
        except Exception as exc:
            broken(
                "emit-never-raises",
                NEVER_RAISES,
                f"emit of a {event.kind!r} event {when} raised {type(exc).__name__}: "
                f"{redact_text(str(exc))}",
            )

    def test_registration_name_is_valid(self, telemetry_sink: Any) -> None:
        valid_name(getattr(telemetry_sink, "name", None), "telemetry sink")

    def test_emit_takes_every_event_kind(self, open_sink: Any, emit_budget: float) -> None:
        started = time.monotonic()
        for kind in EVENT_KINDS:
            self._emit(open_sink, Event(kind=kind, platform="test", environment="dev"), "")
        for event in odd_events()[:1] * (20 - len(EVENT_KINDS)):
            self._emit(open_sink, event, "")
        took = time.monotonic() - started
        if took > emit_budget:
            broken(
                "emit-is-quick",
                f"emit is quick: 20 events take at most {emit_budget:g}s (emit_budget fixture); "
                "queue slow deliveries",
                f"20 emits took {took:.1f}s",
            )

    def test_emit_never_raises_for_odd_events(self, open_sink: Any) -> None:
        for event in odd_events():
            self._emit(open_sink, event, "(empty, huge, unknown kind or unusual data)")

    def test_emit_after_close_does_not_raise(self, telemetry_sink: Any) -> None:
        self._emit(telemetry_sink, Event(kind="apply.started", platform="test"), "")
        call("close()", telemetry_sink.close)
        self._emit(telemetry_sink, Event(kind="apply.finished", platform="test"), "after close")

    def test_emit_does_not_raise_when_delivery_fails(
        self, open_sink: Any, break_delivery: Callable[[Any], Any] | None
    ) -> None:
        if break_delivery is None:
            pytest.skip("provide a break_delivery fixture to check emit when delivery fails")
        call("the break_delivery fixture", break_delivery, open_sink)
        for kind in ("apply.started", "node.failed", "apply.finished"):
            self._emit(open_sink, Event(kind=kind, platform="test"), "while delivery fails")

    def test_close_flushes_what_was_emitted(
        self, telemetry_sink: Any, delivered_events: Callable[[Any], Iterable[Any]] | None
    ) -> None:
        if delivered_events is None:
            pytest.skip("provide a delivered_events fixture to check close flushes events")
        markers = [f"conformance-{n}-{uuid.uuid4().hex[:8]}" for n in range(5)]
        for marker in markers:
            event = Event(kind="node.succeeded", platform="test", environment="dev", message=marker)
            self._emit(telemetry_sink, event, "")
        call("close()", telemetry_sink.close)
        delivered = "\n".join(
            str(item)
            for item in call("the delivered_events fixture", delivered_events, telemetry_sink)
        )
        missing = [m for m in markers if m not in delivered]
        requires = "close delivers every event emitted before it, in the order emitted"
        if missing:
            broken(
                "close-flushes",
                requires,
                f"{len(missing)} of {len(markers)} events emitted before close were not "
                f"delivered (messages {', '.join(missing)})",
            )
        positions = [delivered.index(m) for m in markers]
        if positions != sorted(positions):
            broken("close-flushes", requires, "the events were delivered out of order")
