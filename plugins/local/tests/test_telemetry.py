"""The JSONL event sink."""

from __future__ import annotations

import json
from pathlib import Path

from podium.observability.contract import Event
from podium_local.telemetry import JsonlEventSink


def test_jsonl_sink_writes_one_line_per_event(tmp_path: Path) -> None:
    sink = JsonlEventSink(tmp_path)
    sink.emit(Event(kind="node.succeeded", platform="p", environment="dev", node="x", message="ok"))
    sink.emit(Event(kind="plan.started", platform="p"))
    lines = (tmp_path / "dev" / "events.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "node.succeeded"
    assert json.loads((tmp_path / "events.jsonl").read_text())["kind"] == "plan.started"
