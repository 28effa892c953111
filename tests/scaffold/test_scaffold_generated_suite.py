"""The package ``podium plugin new`` writes passes its own tests against this Podium.

The templates are code a plugin author starts from; if the contract moves on and they
do not, every new plugin starts broken or on a deprecated API. So the generated
suite runs here, with deprecation warnings as errors and no skipped kit checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner

from podium.cli.main import cli

DOMAINS = ("provisioning", "deployment", "security", "observability")


def install_metadata(root: Path, site: Path) -> None:
    """What ``pip install`` leaves for discovery: a dist-info with the entry points
    the generated pyproject declares (read from it, not restated here)."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")


def test_the_generated_plugin_passes_its_own_suite(tmp_path: Path) -> None:
    args = ["plugin", "new", "acme", "--dir", str(tmp_path)]
    for domain in DOMAINS:
        args += ["--domain", domain]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    root = tmp_path / "podium-acme"
    site = tmp_path / "site"
    install_metadata(root, site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(root / "src")])
    pytest = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"]
    proc = subprocess.run(
        [sys.executable, *pytest, "-W", "error::DeprecationWarning"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout
    assert "skipped" not in proc.stdout, "every kit check applies to the template: " + proc.stdout
