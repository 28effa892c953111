"""What Rego policies cost per workload: podium-opa's shipped library on real Score files.

Every upstream Score example (tests/workload/score_examples) is checked in a prod
environment by the built-in Python pack (the baseline: what a check costs with no
Rego) and by podium-opa with its whole library (five checks, one query each
workload into an in-process rego-cpp bundle). Target: at most 5 ms per workload.

Run: python benchmarks/bench_opa.py [repeats]
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import Report, ratio

EXAMPLES = Path(__file__).resolve().parent.parent / "tests" / "workload" / "score_examples"


def per_workload(pack: Any, workloads: list[Any], env: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for workload in workloads:
            list(pack.check_workload(workload, env))
        best = min(best, (time.perf_counter() - started) / len(workloads))
    return best


def main() -> int:
    warnings.simplefilter("ignore")
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    report = Report("opa")
    try:
        from podium_opa.modules import library
        from podium_opa.pack import OpaPolicies
    except ImportError:
        report.check("podium-opa installed", False, "pip install -e plugins/opa")
        return report.finish()
    from podium.platform.context import EnvironmentInfo
    from podium.security.policies import BuiltinPolicies
    from podium.workload.loader import load_workload_file

    # One by one: several examples share a name, which one set of workloads refuses.
    workloads = [load_workload_file(path) for path in sorted(EXAMPLES.glob("*.yaml"))]
    env = replace(
        EnvironmentInfo(platform="bench", environment="prod", state_dir=Path("/nonexistent")),
        tier="prod",
    )
    opa = OpaPolicies(library(True), {"allowed_registries": ["ghcr.io/"]})
    findings = sum(len(list(opa.check_workload(w, env))) for w in workloads)  # compiles too
    builtin = per_workload(BuiltinPolicies(), workloads, env, repeats)
    rego = per_workload(opa, workloads, env, repeats)
    report.add(f"workloads checked (Score examples), findings: {findings}", len(workloads), "")
    report.add("built-in Python pack, per workload", builtin * 1000, "ms")
    report.add("podium-opa library (5 Rego checks), per workload", rego * 1000, "ms", at_most=5)
    report.add("Rego library -> time ratio to the Python pack", ratio(rego, builtin), "x")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
