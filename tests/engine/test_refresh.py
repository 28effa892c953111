"""Refresh: parallel reads within the engine's limits, drift of outputs, errors that say where.

Concurrency is observed, never timed: the test provisioner counts how many reads
are inside ``read`` at once, and each read waits (bounded) until the expected
number of reads is in, so a serial refresh fails on the count instead of
passing slowly.
"""

from __future__ import annotations

import json
import threading
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from podium import hookimpl
from podium.api import Platform
from podium.engine.bounded import Task, run_bounded
from podium.engine.refresh import changed_outputs
from podium.plugins.calls import PluginCallError
from podium.provisioning import Provisioner, ResourceContext
from podium.security.secret import Secret


def platform_for(project: Any, fake_module: Any) -> Platform:
    return Platform.from_file(
        project.root / "podium.toml", plugins=[("fake", fake_module)], load_entrypoints=False
    )


# ------------------------------------------------------------ an observed provisioner


class Overlap:
    """Counts reads in progress; each waits until ``target`` are in (or all have started)."""

    def __init__(self, target: int, total: int, patience: float = 3.0) -> None:
        self.target, self.total, self.patience = target, total, patience
        self.inside = self.most = self.entered = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.inside += 1
            self.entered += 1
            self.most = max(self.most, self.inside)
            self._cond.notify_all()
            # A serial refresh never gets here with company: it waits out its patience.
            self._cond.wait_for(
                lambda: self.inside >= self.target or self.entered >= self.total, self.patience
            )
            self.inside -= 1


class CountingProvisioner(Provisioner):
    """Outputs are ``{"name": <physical name>}``; every read goes through an :class:`Overlap`."""

    name: ClassVar[str] = "counting"
    resource_type: ClassVar[str] = "thing"
    overlap: Overlap | None = None
    failing: ClassVar[frozenset[str]] = frozenset()

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        return {"name": ctx.physical_name}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        if ctx.uid.rsplit(".", 1)[-1] in self.failing:
            raise TimeoutError("the inventory API did not answer")
        if self.overlap is not None:
            self.overlap()
        return {"name": ctx.physical_name}

    def delete(self, ctx: ResourceContext) -> None:
        pass


def plugin_module(provisioner: Provisioner) -> types.ModuleType:
    module = types.ModuleType("podium_counting_plugin")
    module.PODIUM_API = ">=1.0,<2"  # type: ignore[attr-defined]

    @hookimpl
    def podium_provisioners() -> list[Provisioner]:
        return [provisioner]

    module.podium_provisioners = podium_provisioners  # type: ignore[attr-defined]
    return module


def counting_platform(
    root: Path,
    provisioner: CountingProvisioner,
    resources: int,
    *,
    parallelism: int,
    per_plugin: dict[str, int] | None = None,
    env_parallelism: int | None = None,
) -> tuple[Platform, Path]:
    """A platform with one workload of ``resources`` things, applied (state filled)."""
    config = {
        "platform": {"name": "refreshtest"},
        "environments": {"dev": {"parallelism": env_parallelism}},
        "rules": [{"type": "thing", "provisioner": provisioner.name}],
        "engine": {"parallelism": parallelism, "per_plugin": per_plugin or {}},
    }
    lines = ["apiVersion: score.dev/v1b1", "metadata:", "  name: many", "containers:"]
    lines += ["  main:", "    image: example/many:1", "resources:"]
    for index in range(resources):
        lines += [f"  r{index}:", "    type: thing"]
    score = root / "many.score.yaml"
    score.write_text("\n".join(lines) + "\n")
    platform = Platform(
        config,
        root=root,
        plugins=[("counting", plugin_module(provisioner))],
        load_entrypoints=False,
    )
    assert platform.up("dev", [score])[1].ok
    return platform, score


# ------------------------------------------------------------------- parallel reads


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    ("parallelism", "env_parallelism", "max_parallel", "per_plugin", "bound"),
    [
        (4, None, None, None, 4),  # engine.parallelism reads at once
        (8, 2, None, None, 2),  # the environment's parallelism overrides it
        (8, None, 2, None, 2),  # the provisioner's max_parallel bounds it
        (8, None, None, {"counting": 3}, 3),  # and so does engine.per_plugin
        (8, None, 5, {"counting": 3}, 3),  # the tightest limit wins
    ],
)
def test_refresh_reads_overlap_up_to_the_tightest_limit(
    tmp_path: Path,
    parallelism: int,
    env_parallelism: int | None,
    max_parallel: int | None,
    per_plugin: dict[str, int] | None,
    bound: int,
) -> None:
    provisioner = CountingProvisioner()
    provisioner.max_parallel = max_parallel
    resources = 3 * bound
    platform, score = counting_platform(
        tmp_path,
        provisioner,
        resources,
        parallelism=parallelism,
        per_plugin=per_plugin,
        env_parallelism=env_parallelism,
    )
    with platform:
        # Reads wait for one more than the bound: only a broken limit lets that many in.
        provisioner.overlap = Overlap(target=bound + 1, total=resources, patience=0.3)
        plan = platform.plan("dev", [score], refresh=True)
        assert not plan.has_changes
        overlap = provisioner.overlap
        assert overlap.entered == resources  # every recorded resource was read
        assert overlap.most <= bound

        # And the bound is reached: the reads really run side by side.
        provisioner.overlap = Overlap(target=bound, total=resources)
        platform.plan("dev", [score], refresh=True)
        assert provisioner.overlap.most == bound


@pytest.mark.filterwarnings("ignore")
def test_a_failing_read_names_the_resource_and_the_plugin(tmp_path: Path) -> None:
    provisioner = CountingProvisioner()
    platform, score = counting_platform(tmp_path, provisioner, 6, parallelism=4)
    with platform:
        provisioner.failing = frozenset({"r3"})
        with pytest.raises(PluginCallError) as info:
            platform.plan("dev", [score], refresh=True)
    message = str(info.value)
    assert "thing.default#many.r3" in message
    assert "plugin 'counting'" in message and "counting.read" in message
    assert "TimeoutError: the inventory API did not answer" in message
    assert isinstance(info.value.original, TimeoutError)


def test_cli_read_error_names_resource_plugin_and_distribution(project: Any) -> None:
    project.podium("up", check=True)
    result = project.podium("plan", "--refresh", FAKE_READ_FAIL="cache")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "volume.default#web.cache" in result.stderr
    assert "plugin 'fake' (podium-fake 0.1.0) in fake-dir.read" in result.stderr
    assert "cannot reach the directory service for cache" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------- drift


def data_dir(project: Any) -> Path:
    return next(p for p in (project.world / "dirs").iterdir() if "-web-data-" in p.name)


def test_changed_outputs_are_planned_as_updates_with_the_keys(
    project: Any, fake_module: Any
) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        password = data_dir(project) / "password"
        original = password.read_text()
        password.write_text("changed-by-hand-0451")  # behind Podium's back
        assert not platform.plan("dev", [score]).has_changes  # without refresh state is trusted

        events: list[Any] = []
        platform.subscribe(events.append)
        plan = platform.plan("dev", [score], refresh=True)
        drift = [(e.node, e.message, e.data) for e in events if e.kind == "drift"]
        assert drift == [
            ("volume.default#web.data", "drift: password changed", {"keys": ["password"]})
        ]
        change = plan.change("volume.default#web.data")
        assert (change.action, change.reason) == ("update", "drift: password changed")
        assert change.redeploy and change.changed == []
        # The deployment uses the password: it is re-rendered with what the update returns.
        assert plan.change("deployment:web").reason.startswith("re-render: ")
        assert "changed-by-hand-0451" not in plan.to_json()

        result = platform.apply(plan)
        assert result.ok, result.to_dict()
        assert password.read_text() == original  # the provisioner's update converged it
        assert not platform.plan("dev", [score], refresh=True).has_changes


def test_cli_plan_refresh_shows_drift_without_values(project: Any) -> None:
    project.podium("up", check=True, FAKE_CANARY="first-canary-7731")
    env = {"FAKE_CANARY": "second-canary-9902"}
    shown = project.podium("plan", "--refresh", check=True, **env)
    assert "volume.default#web.data" in shown.stdout
    assert "drift: token changed" in shown.stdout
    data = project.podium_json("plan", "--refresh", **env)
    drifted = {c["uid"]: c for c in data["changes"] if "drift:" in c["reason"]}
    assert drifted.keys() == {"volume.default#web.data", "volume.default#web.cache"}
    assert {c["reason"] for c in drifted.values()} == {"drift: token changed"}
    assert all(c["action"] == "update" and c["redeploy"] for c in drifted.values())
    for text in (shown.stdout, shown.stderr, json.dumps(data)):
        assert "first-canary-7731" not in text and "second-canary-9902" not in text
    # An output that a read no longer reports has changed too.
    gone = project.podium_json("plan", "--refresh")
    assert {c["reason"] for c in gone["changes"] if "drift:" in c["reason"]} == {
        "drift: token changed"
    }


def test_a_saved_refresh_plan_is_stale_once_the_drift_is_gone(project: Any) -> None:
    project.podium("up", check=True)
    password = data_dir(project) / "password"
    original = password.read_text()
    password.write_text("changed-by-hand-0451")
    project.podium("plan", "--refresh", "--out", "drift.json", check=True)
    password.write_text(original)  # someone put it back before the apply
    stale = project.podium("apply", "drift.json")
    assert stale.returncode == 8, stale.stdout + stale.stderr
    assert "missing or changed" in stale.stderr

    password.write_text("changed-by-hand-0451")
    project.podium("plan", "--refresh", "--out", "drift.json", check=True)
    applied = project.podium("apply", "drift.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert password.read_text() == original


# ------------------------------------------------------------------ the pieces alone


def test_changed_outputs_compares_values_it_never_shows() -> None:
    recorded = {"host": "db", "ports": [5432], "password": Secret("a"), "uri": Secret("u")}
    same = {"host": "db", "ports": (5432,), "password": Secret("a"), "uri": "u"}
    assert changed_outputs(recorded, same, secret_keys={"uri"}) == []
    other = {"host": "db2", "ports": [5432], "password": Secret("b"), "extra": 1}
    assert changed_outputs(recorded, other) == ["extra", "host", "password", "uri"]
    # A secret that became plain text (or the reverse) is a change, whatever the value.
    assert changed_outputs({"k": Secret("v")}, {"k": "v"}) == ["k"]


def test_run_bounded_starts_nothing_new_after_a_failure() -> None:
    ran: list[int] = []

    def task(index: int) -> Task[int]:
        def call() -> int:
            ran.append(index)
            if index == 1:
                raise ValueError("boom")
            return index

        return Task(call, limits=("one-at-a-time",))

    outcomes = run_bounded([task(i) for i in range(5)], parallelism=4, limits={"one-at-a-time": 1})
    assert ran == [0, 1]
    assert outcomes[0].value == 0 and isinstance(outcomes[1].error, ValueError)
    assert [o.started for o in outcomes] == [True, True, False, False, False]
