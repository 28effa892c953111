"""Cost of Podium's instrumented hook call against a raw pluggy call.

Both call the same plugin implementation in the same run:
* raw: ``pm.hook.podium_event(event=...)`` on the manager's own pluggy manager;
* podium: ``PluginManager.broadcast("podium_event", event=...)`` with attribution,
  the ContextVar and error wrapping, but no tracer (target: at most 2x raw);
* podium + OTel SDK: the same broadcast recording a span per call to an in-memory
  exporter (absolute microseconds, informational).

Run: python benchmarks/bench_hooks.py
"""

from __future__ import annotations

import sys
from typing import Any

from _common import Report, per_call, ratio

from podium import hookimpl
from podium.plugins.manager import PluginManager

NUMBER = 20_000


class Event:
    kind = "node.started"


class Plugin:
    PODIUM_API = ">=1.0,<2"

    @hookimpl
    def podium_event(self, event: Any) -> str:
        return event.kind


def main() -> int:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    event = Event()
    plain = PluginManager(load_entrypoints=False, plugins=[("bench", Plugin())], environ={})
    raw_hook = plain.pluggy_manager.hook.podium_event
    assert raw_hook(event=event) == [plain.broadcast("podium_event", event=event)[0].value]

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = PluginManager(
        load_entrypoints=False, plugins=[("bench", Plugin())], environ={}, tracer_provider=provider
    )
    traced.load()

    raw = per_call(lambda: raw_hook(event=event), number=NUMBER)
    podium = per_call(lambda: plain.broadcast("podium_event", event=event), number=NUMBER)

    def traced_call() -> None:
        traced.broadcast("podium_event", event=event)
        exporter.clear()  # keep memory flat; clearing is a list reset

    with_sdk = per_call(traced_call, number=NUMBER // 10)

    report = Report("bench_hooks")
    report.add("raw pluggy call", raw * 1e6, "us")
    report.add("podium broadcast, no tracer", podium * 1e6, "us")
    report.add("ratio podium / raw (no tracer)", ratio(podium, raw), "x", at_most=2.0)
    report.add("podium broadcast, OTel SDK recording", with_sdk * 1e6, "us")
    report.add("ratio recording / raw", ratio(with_sdk, raw), "x")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
