"""Hook calls: attribution by span, log context, stderr trace and error wrapping."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from plugin_samples import SampleFactory, make_manager

from podium.errors import ExitCode, PluginError, TransientError
from podium.plugins.calls import PluginCallError, current_hook_call


class Event:
    def __init__(self, kind: str) -> None:
        self.kind = kind


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_hook_calls_are_spans_with_plugin_attributes(
    sample_dist: SampleFactory, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    sample_dist("good", version="2.1.0")
    manager = make_manager(allow=["good"], tracer_provider=provider)
    results = manager.broadcast("podium_event", event=Event("node.started"))

    assert [(r.plugin.name, r.value) for r in results] == [("good", "good saw node.started")]
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    # The registration hook ran while loading, the broadcast after.
    assert set(by_name) == {"podium.hook/podium_provisioners", "podium.hook/podium_event"}
    attributes = dict(by_name["podium.hook/podium_event"].attributes or {})
    assert attributes == {
        "podium.plugin": "good",
        "podium.plugin.distribution": "podium-sample-good",
        "podium.plugin.version": "2.1.0",
        "podium.hook": "podium_event",
    }


def test_no_spans_without_a_recording_provider(sample_dist: SampleFactory) -> None:
    from opentelemetry.trace import NoOpTracerProvider

    sample_dist("good")
    manager = make_manager(allow=["good"], tracer_provider=NoOpTracerProvider())
    assert manager._tracer is None  # the fast path: no span objects at all
    assert manager.broadcast("podium_event", event=Event("x"))[0].value == "good saw x"


def test_logs_inside_a_hook_carry_the_plugin(
    sample_dist: SampleFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sample_dist("good", version="2.1.0")
    manager = make_manager(allow=["good"])
    manager.load()
    # Podium logs through stdlib logging: a host sees plugin records like any library's.
    with caplog.at_level(logging.INFO, logger="sample.good"):
        manager.broadcast("podium_event", event=Event("apply.started"))
    [record] = [r for r in caplog.records if getattr(r, "podium_event", None) == "event seen"]
    fields = record.podium_fields  # type: ignore[attr-defined]
    assert fields["plugin"] == "good"
    assert fields["distribution"] == "podium-sample-good"
    assert fields["version"] == "2.1.0"
    assert fields["hook"] == "podium_event"
    assert fields["kind"] == "apply.started"
    assert "plugin='good'" in record.getMessage()
    assert current_hook_call.get() is None  # reset after the call


def test_trace_hooks_prints_each_call(
    sample_dist: SampleFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_dist("good")
    manager = make_manager(allow=["good"], environ={"PODIUM_TRACE_HOOKS": "1"})
    manager.broadcast("podium_event", event=Event("x"))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("podium: hook")]
    assert any(
        "hook podium_event plugin=good (podium-sample-good 1.0.0)" in line and line.endswith(" ok")
        for line in lines
    ), err
    assert any("hook podium_provisioners" in line for line in lines)
    assert all("ms" in line for line in lines)


def test_errors_are_wrapped_with_attribution(
    sample_dist: SampleFactory, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    sample_dist("failing_hook")
    manager = make_manager(allow=["failing-hook"], tracer_provider=provider)

    with pytest.raises(PluginCallError) as raised:
        manager.broadcast("podium_event", event=Event("oops"))
    error = raised.value
    assert isinstance(error, PluginError)
    assert isinstance(error.original, KeyError)
    assert error.__cause__ is error.original
    assert error.distribution == "podium-sample-failing-hook"
    assert error.hook == "podium_event"
    assert not error.is_transient
    assert error.exit_code == ExitCode.PLUGIN_FAULT
    assert "in podium_event: KeyError: 'missing-key'" in str(error)
    [span] = [s for s in exporter.get_finished_spans() if s.name == "podium.hook/podium_event"]
    assert span.status.status_code.name == "ERROR"
    assert span.events[0].name == "exception"

    with pytest.raises(PluginCallError) as transient:
        manager.broadcast("podium_event", event=Event("retry"))
    assert transient.value.is_transient
    assert isinstance(transient.value.original, TransientError)


def test_on_error_lets_other_plugins_run(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    sample_dist("failing_hook")
    manager = make_manager(allow=["good", "failing-hook"])
    errors: list[PluginCallError] = []
    results = manager.broadcast("podium_event", on_error=errors.append, event=Event("x"))
    assert [r.plugin.name for r in results] == ["good"]
    assert [e.plugin for e in errors] == ["failing-hook"]


def test_call_instrumented_for_provisioner_methods(
    sample_dist: SampleFactory, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    sample_dist("good")
    manager = make_manager(allow=["good"], tracer_provider=provider)
    registered = manager.registered("provisioners", "sample-echo")

    seen: list[object] = []

    def create(value: int, *, twice: bool) -> int:
        seen.append(current_hook_call.get())
        return value * (2 if twice else 1)

    assert (
        manager.call_instrumented(registered.plugin, "Provisioner.create", create, 4, twice=True)
        == 8
    )
    assert seen[0].plugin == "good"  # type: ignore[attr-defined]
    assert seen[0].hook == "Provisioner.create"  # type: ignore[attr-defined]
    assert "podium.hook/Provisioner.create" in [s.name for s in exporter.get_finished_spans()]

    def fail() -> None:
        raise TransientError("throttled")

    with pytest.raises(PluginCallError) as raised:
        manager.call_instrumented("good", "Provisioner.read", fail)
    assert raised.value.is_transient
    assert raised.value.exit_code == TransientError.exit_code


def test_broadcast_order_follows_pluggy(sample_dist: SampleFactory) -> None:
    from podium import hookimpl

    calls: list[str] = []

    def plugin(name: str) -> object:
        class P:
            PODIUM_API = ">=1"

            @hookimpl
            def podium_event(self, event: Event) -> str:
                calls.append(name)
                return name

        return P()

    manager = make_manager(
        load_entrypoints=False, plugins=[("first", plugin("first")), ("second", plugin("second"))]
    )
    raw = manager.pluggy_manager.hook.podium_event(event=Event("x"))
    assert [r.value for r in manager.broadcast("podium_event", event=Event("x"))] == raw
