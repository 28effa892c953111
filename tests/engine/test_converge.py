"""Deployments converge: a workload that no longer runs is deployed again by ``up``.

The fake deployer's status is steered on disk (``deployed/<workload>.down``, a
missing ``deployed/<workload>.json``) and counts its calls, so these tests see
both what the plan says and whether the deployer was asked at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podium.api import Platform
from podium.engine.plan import Plan


def platform_for(project: Any, fake_module: Any) -> Platform:
    return Platform.from_file(
        project.root / "podium.toml", plugins=[("fake", fake_module)], load_entrypoints=False
    )


def crash(project: Any, workload: str = "web", detail: str = "process exited (code 137)") -> None:
    """The workload stops behind Podium's back (what a reboot does to it)."""
    (project.world / "deployed" / f"{workload}.down").write_text(detail)


def status_calls(project: Any) -> int:
    calls = project.world / "status-calls"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_refresh_plans_a_redeploy_of_a_workload_found_down(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        crash(project)
        calls = status_calls(project)
        # Without a refresh the plan trusts state and asks no deployer.
        assert not platform.plan("dev", [score]).has_changes
        assert status_calls(project) == calls

        plan = platform.plan("dev", [score], refresh=True)
        change = plan.change("deployment:web")
        assert change.action == "update" and change.redeploy
        assert change.reason == "deployment down: process exited (code 137)"
        # Nothing else changes: the resources are where state says they are.
        assert {c.uid for c in plan.changes if c.action != "no-op"} == {"deployment:web"}

        result = platform.apply(plan)
        assert result.ok, result.to_dict()
        assert [(r.uid, r.status) for r in result.results] == [("deployment:web", "succeeded")]
        assert platform.status("dev")[0].state == "ready"
        deployed = project.deployed()
        assert deployed is not None and deployed["release"] == 2
        assert not platform.plan("dev", [score], refresh=True).has_changes


def test_up_redeploys_a_workload_that_is_gone(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        (project.world / "deployed" / "web.json").unlink()  # e.g. the runtime lost it
        assert platform.status("dev")[0].state == "absent"

        plan, result = platform.up("dev", [score])
        change = plan.change("deployment:web")
        assert change.action == "update" and change.reason == "deployment absent: not deployed"
        assert result.ok and project.deployed() is not None
        assert platform.status("dev")[0].state == "ready"
        history = platform.history("dev")[0]
        assert history["status"] == "succeeded"
        changed = history["changes"][0]
        assert changed["uid"] == "deployment:web" and changed["action"] == "update"

        again, _ = platform.up("dev", [score])
        assert not again.has_changes


def test_a_down_workload_has_its_resources_checked_too(project: Any, fake_module: Any) -> None:
    """A reboot can take a workload's resources with it: up finds and recreates them."""
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        import shutil

        victim = next(p for p in (project.world / "dirs").iterdir() if "cache" in p.name)
        shutil.rmtree(victim)
        # While the workload runs, up trusts the resources (no provisioner is asked).
        assert not platform.up("dev", [score])[0].has_changes
        crash(project)
        plan, result = platform.up("dev", [score])
        assert plan.change("volume.default#web.cache").action == "create"
        assert plan.change("deployment:web").reason.endswith(
            "deployment down: process exited (code 137)"
        )
        assert result.ok and victim.exists()


def test_a_saved_refresh_plan_keeps_the_redeploy(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        crash(project)
        saved = json.loads(platform.plan("dev", [score], refresh=True).to_json())
        plan = Plan.from_dict(saved)
        assert plan.change("deployment:web").redeploy
        assert platform.apply(plan).ok
        assert platform.status("dev")[0].state == "ready"


def test_cli_up_after_a_crash_redeploys_with_the_reason(project: Any) -> None:
    project.podium("up", check=True)
    crash(project, detail="supervisor not running")
    status = project.podium("status")
    assert status.returncode == 10, status.stdout + status.stderr

    plain = project.podium("plan")
    assert plain.returncode == 0 and "No changes" in plain.stdout
    refreshed = project.podium("plan", "--refresh")
    assert "deployment down: supervisor not running" in refreshed.stdout

    up = project.podium("up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "deployment:web" in up.stdout
    assert "deployment down: supervisor not running" in up.stdout
    assert project.podium_json("status")[0]["state"] == "ready"
    deployed = project.deployed()
    assert deployed is not None and deployed["release"] == 2


def test_cli_up_leaves_a_slow_starter_alone_and_exits_10(project: Any) -> None:
    """A workload that is starting is not ready (exit 10), and not redeployed over and over."""
    first = project.podium("up", FAKE_STARTING="web")
    assert first.returncode == 10, first.stdout + first.stderr
    assert "not ready: web: partial starting" in first.stderr
    second = project.podium("up", FAKE_STARTING="web")
    assert second.returncode == 10
    assert "No changes" in second.stdout
    deployed = project.deployed()
    assert deployed is not None and deployed["release"] == 1
    assert project.podium("up").returncode == 0


def test_plan_without_refresh_never_asks_the_deployer(project: Any, tmp_path: Path) -> None:
    project.podium("up", check=True)
    calls = status_calls(project)
    assert calls >= 1  # up asked (before the apply, and for the health report)
    project.podium("plan", check=True)
    project.podium("plan", "--destroy", check=True)
    assert status_calls(project) == calls


def test_a_changed_workload_found_down_gives_both_reasons(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        score.write_text(score.read_text().replace("GREETING: hello", "GREETING: bonjour"))
        crash(project)
        plan, result = platform.up("dev", [score])
        change = plan.change("deployment:web")
        assert change.action == "update" and change.redeploy
        assert change.reason == "change of digest; deployment down: process exited (code 137)"
        assert result.ok
        deployed = project.deployed()
        assert deployed is not None and deployed["variables"]["main"]["GREETING"] == "bonjour"


def test_cli_apply_of_the_files_redeploys_like_up(project: Any) -> None:
    project.podium("up", check=True)
    crash(project)
    applied = project.podium("apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "deployment down: process exited (code 137)" in applied.stdout
    assert project.podium_json("status")[0]["state"] == "ready"
