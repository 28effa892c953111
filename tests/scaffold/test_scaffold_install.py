"""A generated plugin installs into a fresh venv, passes its own tests there, and is listed.

This is what a plugin author does on day one; the package must work without edits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from docsamples import LayeredVenv

from podium.cli.commands.scaffold import create_plugin

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("name", "domains", "registrations"),
    [
        (
            "acme",
            ["provisioning", "deployment", "security", "observability"],
            {
                "provisioners": ["acme-dir"],
                "deployers": ["acme-logfile"],
                "policy_packs": ["acme"],
                "telemetry_sinks": ["acme-jsonl"],
            },
        ),
        ("guard-rails", ["security"], {"policy_packs": ["guard-rails"]}),
    ],
)
def test_generated_plugin_installs_passes_its_tests_and_is_listed(
    tmp_path: Path, name: str, domains: list[str], registrations: dict[str, list[str]]
) -> None:
    package = create_plugin(name, tmp_path / "src", domains)
    venv = LayeredVenv(tmp_path / "venv")

    installed = venv.pip_install(str(package), cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    tests = venv.run(
        [str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package
    )
    report = tests.stdout + tests.stderr
    assert tests.returncode == 0, report
    passed = re.search(r"(\d+) passed", report)
    assert passed and int(passed.group(1)) >= 5, report
    assert " failed" not in report and " error" not in report, report

    listed = venv.run(["podium", "plugins", "list", "--json"], cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    mine = plugins[name]
    assert mine["status"] == "loaded", mine
    assert mine["distribution"] == f"podium-{name}" and mine["version"] == "0.1.0"
    assert {k: v for k, v in mine["registrations"].items() if v} == registrations


def test_the_test_environment_itself_does_not_see_the_generated_plugin() -> None:
    """Installing into the layered venv must not leak into the environment running the tests."""
    from importlib.metadata import entry_points

    assert not {"acme", "guard-rails"} & {ep.name for ep in entry_points(group="podium.plugins")}
