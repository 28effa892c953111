"""podium-local says at validate/plan time what it cannot run: a container without a command.

Before, ``podium validate`` passed such a workload and ``podium up`` failed half-way,
after provisioning its resources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = """\
[platform]
name = "checks"

[plugins]
allow = ["local"]

[environments.dev]
deployer = "local"

[[rules]]
type = "volume"
provisioner = "local-volume"
"""

NO_COMMAND = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: python:3.12-slim
resources:
  data:
    type: volume
"""

BUILT_HERE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: .
    command: [sleep, "60"]
"""


def podium(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_validate_and_plan_refuse_a_container_without_a_command(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(CONFIG)
    (tmp_path / "score.yaml").write_text(NO_COMMAND)
    validated = podium(tmp_path, "validate", "-f", "score.yaml")
    assert validated.returncode == 5, validated.stdout + validated.stderr
    assert "mandatory: local.command-required" in validated.stdout
    assert "container 'main' has no command" in validated.stdout
    assert "score.yaml:5:3" in validated.stdout  # file:line of the container

    planned = podium(tmp_path, "--json", "plan", "-f", "score.yaml")
    assert planned.returncode == 5, planned.stderr
    up = podium(tmp_path, "up", "-f", "score.yaml", "--yes")
    assert up.returncode == 5, up.stdout + up.stderr
    assert "local.command-required" in up.stdout + up.stderr
    assert not (tmp_path / ".podium" / "dev" / "local").exists()  # nothing was provisioned


def test_an_image_built_from_the_directory_is_fine_locally(tmp_path: Path) -> None:
    """The local deployer runs the command and does not use the image at all."""
    (tmp_path / "podium.toml").write_text(CONFIG)
    (tmp_path / "score.yaml").write_text(BUILT_HERE)
    result = podium(tmp_path, "--json", "validate", "-f", "score.yaml")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["findings"] == []
