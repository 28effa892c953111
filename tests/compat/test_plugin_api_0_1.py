"""A plugin written for Podium 0.1, outside this repository, keeps working unchanged.

The package (tests/compat/vintage_plugin.py) is written to a temporary directory,
pip-installed into a fresh virtual environment layered over this one, and then:
its own tests pass there (conformance kits, fixtures, a real platform), and the
podium CLI validates, plans, applies, re-plans and destroys a Score file with it.
Deprecation warnings are allowed; failures are not.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import docsamples
import pytest
import vintage_plugin

from podium.version import API_VERSION

pytestmark = pytest.mark.slow

#: The modules the 0.1 docs told authors to import (plus the test kit).
OLD_PATHS = {
    "podium",
    "podium.deployment.contract",
    "podium.errors",
    "podium.platform.context",
    "podium.provisioning.contract",
    "podium.security.contract",
    "podium.security.secret",
    "podium.testing.conformance",
}


@pytest.fixture(scope="module")
def installed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, docsamples.LayeredVenv]]:
    root = tmp_path_factory.mktemp("compat")
    package = root / "podium-vintage"
    for relative, text in vintage_plugin.FILES.items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(text, encoding="utf-8")
    venv = docsamples.LayeredVenv(root / "venv")
    result = venv.pip_install("--no-deps", str(package), cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    yield package, venv


def test_the_sample_sticks_to_the_0_1_import_paths() -> None:
    """Guard the sample itself: it must not be 'modernized' to the 1.1 author module."""
    seen: set[str] = set()
    for relative, text in vintage_plugin.FILES.items():
        if not relative.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("podium"):
                seen.add(str(node.module))
    podium_modules = {m for m in seen if m == "podium" or m.startswith("podium.")}
    assert podium_modules == OLD_PATHS
    assert 'PODIUM_API = ">=1.0,<2"' in vintage_plugin.PLUGIN
    assert API_VERSION != "1.0"  # the point: a 1.0 plugin on a newer 1.x core


def test_its_own_tests_pass_unchanged(installed: tuple[Path, docsamples.LayeredVenv]) -> None:
    package, venv = installed
    run = venv.run(
        [str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", "tests"],
        cwd=package,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    passed = re.search(r"(\d+) passed", report)
    assert passed and int(passed.group(1)) >= 20, report  # the kits' checks ran
    assert " failed" not in report and " error" not in report, report


PODIUM_TOML = """\
[platform]
name = "archive"
workloads = ["score.yaml"]

[plugins]
allow = ["vintage>=0.1,<0.2"]

[plugins.vintage]
shelf = "{shelf}"

[environments.dev]
deployer = "vintage-manifest"

[[rules]]
type = "ledger"
provisioner = "vintage-ledger"
params = {{ shard = {shard} }}
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: books
containers:
  main:
    image: busybox:1.36
    variables:
      LEDGER: ${resources.ledger.path}
      LEDGER_TOKEN: ${resources.ledger.token}
resources:
  ledger:
    type: ledger
"""


def test_the_cli_validates_plans_applies_and_destroys_with_it(
    installed: tuple[Path, docsamples.LayeredVenv], tmp_path: Path
) -> None:
    _, venv = installed
    shelf = tmp_path / "shelf"
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "score.yaml").write_text(SCORE)

    def configure(shard: int) -> None:
        (demo / "podium.toml").write_text(PODIUM_TOML.format(shelf=shelf, shard=shard))

    def podium(*args: str) -> str:
        run = venv.run(["podium", *args], cwd=demo)
        output = run.stdout + run.stderr
        assert run.returncode == 0, f"podium {' '.join(args)} exited {run.returncode}\n{output}"
        return output

    configure(shard=1)
    listed = json.loads(podium("plugins", "list", "--json"))
    vintage = {p["name"]: p for p in listed["plugins"]}["vintage"]
    assert vintage["status"] == "loaded", vintage
    assert (vintage["distribution"], vintage["version"]) == (vintage_plugin.DIST, "0.1.3")

    # The hook that takes platform_name got it; the policy pack's advisory finding shows.
    validated = podium("validate")
    assert "vintage.owner-annotation" in validated and "required on archive" in validated

    assert "2 to create" in podium("plan")
    podium("up")
    [ledger] = shelf.iterdir()
    token = (ledger / "token").read_text()
    assert (ledger / "owner").read_text() == "archive"

    # secret_outputs: the token reaches the workload as a secret, never as text.
    shown = podium("outputs", "--json")
    outputs = json.loads(shown)
    assert token not in shown
    assert sorted(outputs) == ["deployment:books", "ledger.default#books.ledger"], outputs
    assert outputs["ledger.default#books.ledger"]["token"] == "(sensitive)"
    manifest = Path(outputs["deployment:books"]["manifest"]).read_text()
    assert str(ledger) in manifest and token not in manifest

    assert "no changes" in podium("plan").lower()

    # replace_on: a new shard is a new ledger, not an update in place.
    configure(shard=2)
    replanned = podium("plan", "-v")
    assert re.search(r"replace", replanned), replanned
    podium("up")
    assert (ledger / "shard").read_text() == "2"
    assert (ledger / "token").read_text() != token  # a new ledger, a new token

    podium("destroy", "--yes")
    assert list(shelf.iterdir()) == []
