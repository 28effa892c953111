"""A platform directory for attack tests: podium.toml, Score files and the engine tests'
fake plugin (directories as resources, a JSON-file deployer) installed for real."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FAKE_PLUGIN = Path(__file__).parent.parent / "engine" / "fake_platform.py"

CONFIG = """\
[platform]
name = "trust"

[plugins]
allow = ["fake"]

[environments.dev]
deployer = "fake-deployer"

[[rules]]
type = "volume"
provisioner = "fake-dir"
"""


class AttackProject:
    """A platform directory driven through the real ``podium`` CLI in subprocesses."""

    def __init__(self, root: Path, config: str = CONFIG) -> None:
        self.root = root
        self.site = root / "site"
        self.site.mkdir(parents=True)
        shutil.copy(FAKE_PLUGIN, self.site / "fake_platform.py")
        dist = self.site / "podium_fake-0.1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: podium-fake\nVersion: 0.1.0\n")
        (dist / "entry_points.txt").write_text("[podium.plugins]\nfake = fake_platform\n")
        (root / "podium.toml").write_text(config)

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def podium(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "PODIUM_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.site), env.get("PYTHONPATH")]))
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def records(self, env: str = "dev") -> list[Any]:
        """What state holds for ``env`` (read through the CLI; empty when nothing was written)."""
        result = self.podium("--json", "state", "list", "-e", env)
        assert result.returncode == 0, result.stderr
        records: list[Any] = json.loads(result.stdout)
        return records

    def refused(self, *args: str, where: str, says: str) -> str:
        """Run the command; assert exit 3 with ``where`` (file:line) and ``says`` in the error."""
        result = self.podium(*args)
        output = result.stdout + result.stderr
        assert result.returncode == 3, output
        assert where in result.stderr, result.stderr
        assert says in result.stderr, result.stderr
        assert "internal error" not in output and "Traceback" not in output
        return result.stderr


@pytest.fixture
def attack_project(tmp_path: Path) -> AttackProject:
    return AttackProject(tmp_path / "platform")


@pytest.fixture
def make_attack_project(tmp_path: Path) -> Callable[[str], AttackProject]:
    """A project whose podium.toml is ``CONFIG`` followed by the given text."""
    return lambda extra: AttackProject(tmp_path / "platform", CONFIG + extra)
