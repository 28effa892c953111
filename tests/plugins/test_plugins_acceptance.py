"""Acceptance: a plugin package written from scratch, pip-installed, seen by the CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

DIST = "podium-acceptance-sample"

PLUGIN = '''
"""A plugin written outside the Podium repository."""

from typing import ClassVar

from podium import hookimpl
from podium.security.contract import Finding, PolicyPack

PODIUM_API = ">=1.0,<2"


class TeamPolicy(PolicyPack):
    name: ClassVar[str] = "acceptance"

    def check_workload(self, workload, env):
        return [Finding("acceptance.team", "add a team annotation")]


@hookimpl
def podium_policy_packs():
    return [TeamPolicy()]
'''


def _build_backend() -> tuple[str, list[str]]:
    """Build offline with what is installed when possible, else let pip fetch a backend."""
    if importlib.util.find_spec("hatchling"):
        return '["hatchling"]\nbuild-backend = "hatchling.build"', ["--no-build-isolation"]
    if importlib.util.find_spec("setuptools") and importlib.util.find_spec("wheel"):
        return (
            '["setuptools>=61", "wheel"]\nbuild-backend = "setuptools.build_meta"',
            ["--no-build-isolation"],
        )
    return '["hatchling"]\nbuild-backend = "hatchling.build"', []


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("acceptance-plugin")
    requires, flags = _build_backend()
    package = root / "podium_acceptance_sample"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = {requires}

            [project]
            name = "{DIST}"
            version = "0.2.0"
            dependencies = []

            [project.entry-points."podium.plugins"]
            acceptance = "podium_acceptance_sample"
            """
        )
    )
    if "setuptools" in requires:
        (root / "setup.cfg").write_text("[options]\npackages = podium_acceptance_sample\n")
    else:
        (root / "pyproject.toml").write_text(
            (root / "pyproject.toml").read_text()
            + '\n[tool.hatch.build.targets.wheel]\npackages = ["podium_acceptance_sample"]\n'
        )
    result = _pip("install", "--no-deps", *flags, str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        yield root
    finally:
        _pip("uninstall", "-y", DIST)


def test_installed_plugin_is_listed(installed_plugin: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    result = subprocess.run(
        [sys.executable, "-m", "podium", "plugins", "list", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    sample = plugins["acceptance"]
    assert sample["status"] == "loaded", sample
    assert sample["distribution"] == DIST
    assert sample["version"] == "0.2.0"
    assert sample["source"] == "entry-point"
    assert sample["registrations"]["policy_packs"] == ["acceptance"]
