"""Blast radius: ``plan --all`` over 100 deployed workloads in 3 environments, no refresh.

Setup (not timed): 100 workloads of 3 resources each are deployed in dev, staging and
prod by in-process plugins whose operations are instant, so state holds 1,200 records
and 300 recorded Score sources. Then a platform change (a rule's params edited) is
previewed: :func:`podium.engine.blast.plan_all` reads every environment's state, parses
the recorded sources and plans each environment.

Baseline, in the same run and in turns: planning the same 100 workloads from their
Score files in the three environments (what a team would run by hand, one environment
at a time), on the same changed platform. Targets: ``plan --all`` at most 3 s, and at
most 1.5x the baseline (the radius costs parsing sources from state instead of files,
nothing more).

Run: python benchmarks/bench_blast.py [rounds]
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import Report, ratio, tests_helper
from _graph import RESOURCE_TYPE, SleepProvisioner, sleep_plugin

from podium import hookimpl
from podium.deployment import DeploymentResult

WORKLOADS, ENVIRONMENTS, RESOURCES = 100, ("dev", "staging", "prod"), 3


#: The deployment tests' deployer that keeps its workloads in a dict (status, logs, destroy).
InMemoryDeployer = tests_helper("deployment/in_memory").InMemoryDeployer


class NoopDeployer(InMemoryDeployer):  # type: ignore[misc]
    """Deploys instantly: the benchmark measures the engine, not a deployer."""

    name = "bench-noop"

    def deploy(self, ctx: Any, workload: Any) -> DeploymentResult:
        self.deployed[ctx.workload] = ctx.release
        return DeploymentResult(urls=[], message="ok")


def plugin() -> types.ModuleType:
    """The sleeping provisioner (instant) and :class:`NoopDeployer`, as one plugin module."""
    module, _provisioner = sleep_plugin(0.0)
    module.podium_deployers = hookimpl(lambda: [NoopDeployer()])  # type: ignore[attr-defined]
    return module


def make_platform(root: Path, tier: str) -> Any:
    from podium.api import Platform

    rule = {"type": RESOURCE_TYPE, "provisioner": SleepProvisioner.name, "params": {"tier": tier}}
    return Platform(
        {
            "platform": {"name": "blast"},
            "environments": {env: {"deployer": NoopDeployer.name} for env in ENVIRONMENTS},
            "rules": [rule],
            "engine": {"parallelism": 32},
        },
        root=root,
        plugins=[("bench", plugin())],
        load_entrypoints=False,
        pause_gc=True,
    )


def write_workloads(root: Path) -> list[Path]:
    paths = []
    for index in range(WORKLOADS):
        lines = [
            "apiVersion: score.dev/v1b1",
            "metadata:",
            f"  name: svc{index:03d}",
            "containers:",
            "  main:",
            f"    image: registry.example/svc{index:03d}:1",
            "    variables:",
            "      FIRST: ${resources.r0.name}",
            "resources:",
        ]
        for r in range(RESOURCES):
            lines += [f"  r{r}:", f"    type: {RESOURCE_TYPE}"]
        path = root / f"svc{index:03d}.score.yaml"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def best(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best seconds of each call, timed in turns so a busy spell slows both alike."""
    found = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for name, call in calls.items():
            gc.collect()
            started = time.perf_counter()
            call()
            found[name] = min(found[name], time.perf_counter() - started)
    return found


def main() -> int:
    warnings.simplefilter("ignore")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    report = Report("blast")
    from podium.engine.blast import plan_all

    with tempfile.TemporaryDirectory(prefix="podium-bench-blast-") as tmp:
        root = Path(tmp)
        paths = write_workloads(root)
        with make_platform(root, "a") as before:
            for env in ENVIRONMENTS:
                result = before.apply(before.plan(env, paths), parallelism=32)
                if not result.ok:
                    raise SystemExit(f"could not deploy to {env}: {result.counts}")
        with make_platform(root, "b") as changed:

            def radius() -> None:
                found = plan_all(changed)
                moved = [i for i in found.impacts if i.changed]
                if len(moved) != WORKLOADS * len(ENVIRONMENTS) or found.unplanned:
                    raise SystemExit(f"expected every workload to change: {len(moved)}")

            def by_hand() -> None:
                for env in ENVIRONMENTS:
                    plan = changed.plan(env, paths)
                    if plan.counts["update"] != WORKLOADS * (RESOURCES + 1):
                        raise SystemExit(f"expected every node to update: {plan.counts}")

            radius()  # warm-up: imports, schema caches
            by_hand()
            times = best({"radius": radius, "baseline": by_hand}, rounds)
    label = f"{WORKLOADS} workloads x {len(ENVIRONMENTS)} environments"
    report.add(f"plan --all, {label}, no refresh", times["radius"], "s", at_most=3.0)
    report.add(f"baseline: plan each environment from the files, {label}", times["baseline"], "s")
    report.add("plan --all / baseline", ratio(times["radius"], times["baseline"]), "x", at_most=1.5)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
