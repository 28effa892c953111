"""``podium status`` answers from the health a deployer recorded; ``--probe`` and ``up`` ask live.

The fake deployer (tests/engine/fake_platform.py) records health in
``deployed/<workload>.health`` and logs every live ``status`` call in ``status-calls``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# tests/engine's Project (a platform directory with the fake plugin installed for real),
# loaded under its own name so that it never shadows another conftest module.
_spec = importlib.util.spec_from_file_location(
    "engine_project", Path(__file__).resolve().parents[1] / "engine" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_engine)
Project = _engine.Project

OLD_KEYS = {"workload", "state", "message", "urls", "containers", "redeploy"}


@pytest.fixture
def project(tmp_path: Path) -> Any:
    return Project(tmp_path / "platform")


def live_calls(project: Any) -> int:
    calls = project.world / "status-calls"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def record(project: Project, state: str, seconds_ago: float) -> None:
    checked = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    health = {"workload": "web", "state": state, "message": "recorded", "checked_at": checked}
    path = project.world / "deployed" / "web.health"
    path.write_text(json.dumps(health, default=str))


def test_status_reads_the_record_and_says_how_old_it_is(project: Any) -> None:
    project.podium("up", check=True)
    record(project, "down", seconds_ago=42)
    before = live_calls(project)

    human = project.podium("status")
    assert human.returncode == 10, human.stdout + human.stderr  # exit codes unchanged
    assert "web" in human.stdout and "down" in human.stdout
    age = re.search(r"checked (\d+)s ago", human.stdout)
    assert age is not None and 42 <= int(age.group(1)) < 100, human.stdout  # a loaded machine
    listed = project.podium("--json", "status")
    assert listed.returncode == 10
    (entry,) = json.loads(listed.stdout)
    assert set(entry) >= OLD_KEYS and entry["state"] == "down" and entry["checked_at"]
    assert live_calls(project) == before  # nothing was probed

    probed = project.podium("--json", "status", "--probe")
    assert probed.returncode == 0, probed.stderr
    (entry,) = json.loads(probed.stdout)
    assert entry["state"] == "ready" and entry["checked_at"] is None
    # additions only: checked_at here, and template and signals from other features
    assert set(entry) == OLD_KEYS | {"checked_at", "template", "signals"}
    assert live_calls(project) == before + 1


def test_up_checks_readiness_live_never_from_the_record(project: Any) -> None:
    project.podium("up", check=True)
    record(project, "down", seconds_ago=1)
    assert project.podium("up").returncode == 0  # the record says down; live says ready
    record(project, "ready", seconds_ago=1)
    up = project.podium("up", FAKE_STARTING="web")  # live: partial
    assert up.returncode == 10, up.stdout + up.stderr


def test_deployers_without_a_record_are_probed(project: Any) -> None:
    project.podium("up", check=True)
    before = live_calls(project)
    status = project.podium_json("status")
    assert status[0]["state"] == "ready" and status[0]["checked_at"] is None
    assert live_calls(project) == before + 1
    assert "checked" not in project.podium("status").stdout
