"""Fixtures for engine tests: a platform directory with the fake plugin installed for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


def _fake_site() -> Any:
    """tests/engine/fake_site.py, loaded by path: tests elsewhere (tests/cli) load this
    conftest by path too, when tests/engine is not on sys.path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("engine_fake_site", HERE / "fake_site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_site = _fake_site()
install_fake_plugin, web_score = _site.install_fake_plugin, _site.web_score

CONFIG = """\
[platform]
name = "enginetest"
workloads = ["*.score.yaml"]

[plugins]
allow = ["fake"]

[environments.dev]
deployer = "fake-deployer"

[environments.prod]
deployer = "fake-deployer"

[[rules]]
type = "volume"
provisioner = "fake-dir"

[telemetry]
jsonl = true
"""

WEB = web_score()


class Project:
    """A platform directory: podium.toml, Score files, and a site dir holding the fake plugin."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = install_fake_plugin(root / "site")
        (root / "podium.toml").write_text(CONFIG)
        (root / "web.score.yaml").write_text(WEB)

    @property
    def world(self) -> Path:
        return self.root / ".podium" / "dev" / "fake-world"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(self.site), env.get("PYTHONPATH", "")])
        )
        env.update(extra)
        return env

    def podium(
        self, *args: str, check: bool = False, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"podium {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result

    def podium_json(self, *args: str, **env: str) -> Any:
        result = self.podium("--json", *args, check=True, **env)
        return json.loads(result.stdout)

    def dirs(self) -> list[str]:
        base = self.world / "dirs"
        return sorted(p.name for p in base.iterdir()) if base.exists() else []

    def deployed(self, workload: str = "web") -> dict[str, Any] | None:
        path = self.world / "deployed" / f"{workload}.json"
        return json.loads(path.read_text()) if path.exists() else None


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "platform")


@pytest.fixture
def make_project(tmp_path: Path) -> Any:
    return lambda name: Project(tmp_path / name)


@pytest.fixture
def fake_module() -> Iterator[Any]:
    sys.path.insert(0, str(HERE))
    try:
        import fake_platform

        yield fake_platform
    finally:
        sys.path.remove(str(HERE))
