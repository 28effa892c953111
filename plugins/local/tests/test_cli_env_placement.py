"""-e before or after the subcommand, with podium-local as the deployer (the core's own
tests install no plugin, so these live here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TWO_ENVS = """\
[platform]
name = "opts"

[plugins]
allow = ["local"]

[environments.dev]
deployer = "local"

[environments.prod]
deployer = "local"
"""


def _podium(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_env_before_the_subcommand_and_its_precedence(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(TWO_ENVS)
    (tmp_path / "score.yaml").write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: python:3.12\n    command: [sleep, '60']\n"  # local runs a command
    )

    def planned_env(*args: str, **env: str) -> str:
        result = _podium(tmp_path, *args, **env)
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["environment"])

    assert planned_env("-e", "prod", "plan", "--json") == "prod"
    assert planned_env("--json", "-e", "prod", "plan") == "prod"
    assert planned_env("plan", "--json", PODIUM_ENV="prod") == "prod"
    # the subcommand's own -e wins over the root's and over PODIUM_ENV
    assert planned_env("-e", "prod", "plan", "-e", "dev", "--json") == "dev"
    assert planned_env("plan", "-e", "dev", "--json", PODIUM_ENV="prod") == "dev"
    # the root's -e wins over PODIUM_ENV, as a flag wins over the environment everywhere
    assert planned_env("-e", "dev", "plan", "--json", PODIUM_ENV="prod") == "dev"


def test_root_options_after_env_still_decide_which_plugins_load(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(TWO_ENVS)
    result = _podium(tmp_path, "-e", "prod", "--no-plugins", "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    statuses = {p["name"]: p["status"] for p in json.loads(result.stdout)["plugins"]}
    assert statuses["local"] == "disabled"
