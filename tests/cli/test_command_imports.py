"""Each command imports only what it needs: heavy modules it must not load, per command.

Every command runs for real (``podium.cli.main.main`` in a fresh interpreter, the fake
plugin installed as an entry point, one workload deployed) and reports ``sys.modules``
when it ends. Speed itself is measured by ``benchmarks/bench_cli.py``, never here.

To cover a new command, add a row to :data:`FORBIDDEN` (its arguments -> what it must
not import); :data:`NEVER` applies to every row. A name forbids the module and every
submodule of it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# tests/engine's Project (a platform directory with the fake plugin installed for real).
_spec = importlib.util.spec_from_file_location(
    "engine_project_imports", Path(__file__).resolve().parents[1] / "engine" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_engine)

#: never imported by these commands while telemetry is off
NEVER = frozenset({"opentelemetry", "structlog", "rich"})
#: what only parsing Score files needs (YAML, the JSON Schema validator, the loader)
WORKLOAD_PARSING = frozenset(
    {"yaml", "jsonschema_rs", "jsonschema", "podium.workload.loader", "podium.workload.schema"}
)
#: what only planning needs: the engine, rule matching and the checks run on a plan
PLANNING = frozenset(
    {
        "podium.engine.plan",
        "podium.engine.session",
        "podium.engine.desired",
        "podium.engine.resource_checks",
        "podium.engine.deployer_checks",
        "podium.engine.rules",
        "podium.workload.render",
    }
)
#: building and loading a platform: config models, plugins, state
PLATFORM = frozenset(
    {
        "pydantic",
        "podium.api",
        "podium.config.models",
        "podium.plugins.manager",
        "importlib.metadata",
        "fake_platform",
        "sqlite3",
    }
)

#: command (its arguments) -> modules it must not import. Add a row per new command.
FORBIDDEN: dict[tuple[str, ...], frozenset[str]] = {
    ("--version",): PLATFORM | WORKLOAD_PARSING | PLANNING | {"pluggy"},
    ("plugins", "list"): WORKLOAD_PARSING | PLANNING,
    ("status",): WORKLOAD_PARSING | PLANNING,
    ("status", "--probe"): WORKLOAD_PARSING | PLANNING,
    ("plan",): frozenset(),  # plans parse workloads and need the engine; NEVER still holds
}

# Runs the real entry point, then writes the names in sys.modules to the file in argv[1].
RUNNER = """\
import json, sys
report, args = sys.argv[1], sys.argv[2:]
sys.argv = ["podium", *args]
from podium.cli.main import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
with open(report, "w") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
"""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    project = _engine.Project(tmp_path_factory.mktemp("imports") / "platform")
    config = project.root / "podium.toml"
    config.write_text(config.read_text().replace("jsonl = true", "jsonl = false"))
    project.podium("up", check=True)
    return project


def imported(project: Any, args: tuple[str, ...]) -> set[str]:
    report = project.root / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(report), *args],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text())
    assert result["code"] in (0, None), (args, result["code"], done.stdout, done.stderr)
    return set(result["modules"])


def offending(modules: set[str], forbidden: frozenset[str]) -> list[str]:
    return sorted(
        name for name in forbidden if any(m == name or m.startswith(name + ".") for m in modules)
    )


@pytest.mark.parametrize("args", list(FORBIDDEN), ids=" ".join)
def test_command_imports_only_what_it_needs(deployed: Any, args: tuple[str, ...]) -> None:
    modules = imported(deployed, args)
    assert offending(modules, NEVER | FORBIDDEN[args]) == []


def test_the_table_detects_an_import(deployed: Any) -> None:
    """The check itself works: plan does load what status must not."""
    modules = imported(deployed, ("plan",))
    assert offending(modules, WORKLOAD_PARSING | PLANNING)
    assert "fake_platform" in modules  # the plugin the command touches is loaded
