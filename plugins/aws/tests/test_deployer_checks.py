"""aws-ecs says at validate/plan time what it cannot run: ``image: .``, files, volumes.

Before, ``podium validate`` passed these and ECS either failed half-way through
``podium up`` (files, volumes) or started tasks that could never pull ``.``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = """\
[platform]
name = "ecschecks"

[plugins]
allow = ["aws"]

[plugins.aws]
region = "us-east-1"
endpoint_url = "{endpoint}"

[environments.prod]
deployer = "aws-ecs"
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  web:
    image: .
    files:
      /etc/app.conf:
        content: hello
  worker:
    image: shop/worker:1
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


def test_validate_and_plan_name_what_ecs_cannot_run(tmp_path: Path, aws: str) -> None:
    (tmp_path / "podium.toml").write_text(CONFIG.format(endpoint=aws))
    (tmp_path / "shop.score.yaml").write_text(SCORE)
    validated = podium(tmp_path, "--json", "validate", "-e", "prod", "-f", "shop.score.yaml")
    assert validated.returncode == 5, validated.stderr
    findings = ecs_findings(validated.stdout)
    assert [(f["policy"], f["level"], f["subject"], f["location"]) for f in findings] == [
        ("aws-ecs.image-required", "mandatory", "shop.containers.web", "shop.score.yaml:6:5"),
        ("aws-ecs.no-files", "mandatory", "shop.containers.web", "shop.score.yaml:7:5"),
    ]
    planned = podium(tmp_path, "plan", "-e", "prod", "-f", "shop.score.yaml")
    assert planned.returncode == 5, planned.stdout + planned.stderr
    assert "aws-ecs.image-required" in planned.stdout
    assert "shop.score.yaml:6:5" in planned.stdout

    fixed = SCORE.replace("image: .", "image: shop/web:1").split("    files:")[0]
    (tmp_path / "shop.score.yaml").write_text(fixed + "  worker:\n    image: shop/worker:1\n")
    ok = podium(tmp_path, "--json", "validate", "-e", "prod", "-f", "shop.score.yaml")
    assert ok.returncode == 0, ok.stderr
    assert ecs_findings(ok.stdout) == []


def ecs_findings(output: str) -> list[dict[str, str]]:
    """The deployer's findings (prod also gets the core's advisory ones, about probes)."""
    findings = json.loads(output)["findings"]
    return [f for f in findings if f["policy"].startswith("aws-ecs.")]
