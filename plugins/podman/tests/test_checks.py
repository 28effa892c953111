"""podium-podman says at validate time what it cannot build: ``image: .`` without a Containerfile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIG = """\
[platform]
name = "checks"

[plugins]
allow = ["podman"]

[environments.dev]
deployer = "podman"
"""

BUILT_HERE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: .
"""


def validate(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", "validate", "-f", "score.yaml"],
        cwd=root,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_image_dot_needs_a_containerfile(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(CONFIG)
    (tmp_path / "score.yaml").write_text(BUILT_HERE)
    refused = validate(tmp_path)
    assert refused.returncode == 5, refused.stdout + refused.stderr
    output = refused.stdout + refused.stderr
    assert "podman.build-file" in output and "score.yaml:6" in output, output

    (tmp_path / "Containerfile").write_text("FROM localhost/base:1\n")
    accepted = validate(tmp_path)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


LIMITED = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: localhost/base:1
    resources:
      limits:
        cpu: "0.001"
        memory: 512Mi
"""


def test_a_resource_quantity_podman_cannot_apply_fails_validate_at_its_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "podium.toml").write_text(CONFIG)
    (tmp_path / "score.yaml").write_text(LIMITED)
    refused = validate(tmp_path)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 5, output
    assert "podman.resources" in output and "score.yaml:9" in output, output
    assert "below the smallest CPU limit" in output, output
