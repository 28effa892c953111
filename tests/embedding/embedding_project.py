"""What the embedding tests share: the platform config and the Score file they plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the engine tests' real on-disk fake plugin lives there
ENGINE_TESTS = Path(__file__).parent.parent / "engine"

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1.0
    variables:
      DATA: ${resources.data.source}
resources:
  data:
    type: volume
"""


def config(name: str = "embed", **telemetry: Any) -> dict[str, Any]:
    return {
        "platform": {"name": name},
        "environments": {"dev": {"deployer": "fake-deployer"}},
        "rules": [{"type": "volume", "provisioner": "fake-dir"}],
        "telemetry": telemetry,
    }
