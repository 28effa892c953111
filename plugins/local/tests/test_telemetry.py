"""The JSONL event sink."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from podium.plugin import Event
from podium.testing.conformance import TelemetrySinkConformance
from podium_local.telemetry import JsonlEventSink


def test_jsonl_sink_writes_one_line_per_event(tmp_path: Path) -> None:
    sink = JsonlEventSink(tmp_path)
    sink.emit(Event(kind="node.succeeded", platform="p", environment="dev", node="x", message="ok"))
    sink.emit(Event(kind="plan.started", platform="p"))
    lines = (tmp_path / "dev" / "events.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "node.succeeded"
    assert json.loads((tmp_path / "events.jsonl").read_text())["kind"] == "plan.started"


class TestJsonlEventSinkConformance(TelemetrySinkConformance):
    @pytest.fixture
    def telemetry_sink(self, tmp_path: Path) -> JsonlEventSink:
        return JsonlEventSink(tmp_path / "events")

    @pytest.fixture
    def delivered_events(self) -> Callable[[JsonlEventSink], list[str]]:
        def lines(sink: JsonlEventSink) -> list[str]:
            assert sink.state_root is not None
            files = sorted(sink.state_root.rglob("events.jsonl"))
            return [line for f in files for line in f.read_text().splitlines()]

        return lines

    @pytest.fixture
    def break_delivery(self, tmp_path: Path) -> Callable[[JsonlEventSink], None]:
        def root_is_a_file(sink: JsonlEventSink) -> None:
            blocker = tmp_path / "not-a-directory"
            blocker.write_text("")
            sink.state_root = blocker

        return root_is_a_file
