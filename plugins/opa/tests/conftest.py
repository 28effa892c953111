"""A platform project using podium-opa (with podium-local to deploy), driven by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CONFIG = """\
[platform]
name = "opatest"

[plugins]
allow = ["local", "opa"]

[plugins.opa]
policy_dirs = ["policy"]
allowed_registries = ["ghcr.io/acme/"]

[environments.dev]
deployer = "local"

[environments.prod]
tier = "prod"
deployer = "local"

[policies]
"builtin.plaintext-secret" = "advisory"
"builtin.probes-required" = "off"
{policies}
"""

#: A workload the library accepts in prod: pinned, allowed registry, limits, owner.
GOOD = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    owner: team-shop
containers:
  main:
    image: ghcr.io/acme/web:1.0
    command: ["sleep", "300"]
    resources:
      limits:
        cpu: "0.5"
        memory: 64Mi
"""

#: What the library refuses in prod, one problem per check, and a literal secret.
BAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx:latest
    command: ["sleep", "300"]
    variables:
      DB_PASSWORD: opa-canary-hunter2
"""


class Project:
    def __init__(self, root: Path, policies: str = "") -> None:
        self.root = root
        (root / "policy").mkdir(parents=True)
        self.configure(policies)

    def configure(self, policies: str = "") -> None:
        (self.root / "podium.toml").write_text(CONFIG.format(policies=policies))

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def podium(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def json(self, *args: str) -> Any:
        result = self.podium("--json", *args)
        return json.loads(result.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = Project(tmp_path / "platform")
    yield made
    for env in ("dev", "prod"):
        made.configure('"opa" = "off"')
        made.podium("destroy", "-e", env, "--yes")
