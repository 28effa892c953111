"""A platform directory for attack tests: podium.toml, Score files and the engine tests'
fake plugin (directories as resources, a JSON-file deployer) installed for real."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_project import FAKE_PLATFORM, CliProject, install_plugin

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


class AttackProject(CliProject):
    """A platform directory driven through the real ``podium`` CLI in subprocesses."""

    def __init__(self, root: Path, config: str = CONFIG) -> None:
        super().__init__(root, root / "site")
        install_plugin(self.site, "fake", FAKE_PLATFORM.read_text(), module="fake_platform")
        (root / "podium.toml").write_text(config)

    def records(self, env: str = "dev") -> list[Any]:
        """What state holds for ``env`` (read through the CLI; empty when nothing was written)."""
        records: list[Any] = self.json("state", "list", "-e", env)
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
