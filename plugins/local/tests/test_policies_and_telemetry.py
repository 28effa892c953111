"""The builtin-local policy pack and the JSONL event sink."""

from __future__ import annotations

import json
from pathlib import Path

from podium.observability.contract import Event
from podium.platform.context import EnvironmentInfo
from podium_local.policies import BuiltinLocalPolicies, image_is_floating
from podium_local.telemetry import JsonlEventSink

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: {image}
    variables:
      DB_PASSWORD: hunter2
      API_TOKEN: ${{resources.token.value}}
      GREETING: hi
resources:
  token:
    type: secret
    params:
      key: api-token
"""


def findings(tmp_path: Path, image: str, tier: str) -> list[str]:
    from podium.workload.loader import load_workloads

    path = tmp_path / "score.yaml"
    path.write_text(SCORE.format(image=image))
    workload = load_workloads([path])[0]
    env = EnvironmentInfo("p", tier, tmp_path, tier=tier)
    return sorted(f.policy for f in BuiltinLocalPolicies().check_workload(workload, env))


def test_policies_by_tier(tmp_path: Path) -> None:
    assert findings(tmp_path, "python:latest", "dev") == ["builtin-local.no-plaintext-secrets"]
    assert findings(tmp_path, "python", "staging") == [
        "builtin-local.no-latest-image",
        "builtin-local.no-plaintext-secrets",
    ]
    assert findings(tmp_path, "python:3.11", "prod") == [
        "builtin-local.no-plaintext-secrets",
        "builtin-local.probes-required",
        "builtin-local.probes-required",
    ]


def test_floating_images() -> None:
    assert image_is_floating("nginx") and image_is_floating("ghcr.io/a/b:latest")
    assert not image_is_floating("localhost:5000/app:1.2")
    assert not image_is_floating("app@sha256:abc") and not image_is_floating(".")
    assert image_is_floating("localhost:5000/app")


def test_jsonl_sink_writes_one_line_per_event(tmp_path: Path) -> None:
    sink = JsonlEventSink(tmp_path)
    sink.emit(Event(kind="node.succeeded", platform="p", environment="dev", node="x", message="ok"))
    sink.emit(Event(kind="plan.started", platform="p"))
    lines = (tmp_path / "dev" / "events.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "node.succeeded"
    assert json.loads((tmp_path / "events.jsonl").read_text())["kind"] == "plan.started"
