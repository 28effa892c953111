"""The one path every platform event takes: subscribers, plugins' ``podium_event``, sinks.

Receivers are isolated from the run and from each other: whatever one raises is logged
(``podium.events``, with its traceback) and the event goes on to the next. A run never
fails, stops half-way or leaves a pending intent because a receiver broke.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from podium.observability.contract import Event
from podium.observability.logging import get_logger
from podium.plugins.kinds import TELEMETRY_SINKS

if TYPE_CHECKING:
    from podium.plugins.manager import PluginManager

Subscriber = Callable[[Event], None]

_log = get_logger("podium.events")


class EventChannel:
    """Delivers a platform's events, in order: subscribers, then plugin hooks, then sinks."""

    def __init__(self, plugins: PluginManager, sinks: Sequence[str]) -> None:
        self._plugins = plugins
        self._sinks = tuple(sinks)
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def emit(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception as exc:  # the host's bug must not break the platform's run
                _log.warning(
                    "event subscriber failed",
                    subscriber=_name(callback),
                    kind=str(event.kind),
                    error=f"{type(exc).__name__}: {exc}",
                    exc_info=True,
                )
        self._plugins.broadcast(
            "podium_event",
            event=event,
            on_error=lambda err: _log.warning(
                "event hook failed", kind=str(event.kind), error=str(err)
            ),
        )
        for name in self._sinks:
            try:
                sink = self._plugins.registered(TELEMETRY_SINKS, name)
                self._plugins.call_instrumented(sink.plugin, f"{name}.emit", sink.obj.emit, event)
            except Exception as exc:  # a sink's delivery problem must not fail the platform's work
                _log.warning("telemetry sink failed", sink=name, error=str(exc))

    def close(self) -> None:
        """Close the selected sinks (each failure logged, the others still closed)."""
        for name in self._sinks:
            try:
                self._plugins.registered(TELEMETRY_SINKS, name).obj.close()
            except Exception as exc:
                _log.warning("telemetry sink failed to close", sink=name, error=str(exc))


def _name(callback: Any) -> str:
    return str(getattr(callback, "__qualname__", None) or repr(callback))
