"""Plan scaling: a no-op plan with 1,000 and 10,000 nodes already in state.

Each size is applied once (operations instant), then planned again with nothing
to change: the plan reads state, builds the desired graph, diffs it, runs the
policies. The Score files are parsed once before timing (the plan figure is the
engine's); parsing them is reported on its own line, as is a plan straight from
the files. Targets: 10,000 nodes in under 2 s, and no worse than linear (10x the
nodes in at most 12x the time).

Run: python benchmarks/bench_plan.py [repeats]
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _common import Report, ratio
from _graph import make_platform, write_workloads

SIZES = (1_000, 10_000)


def measure(nodes: int, repeats: int) -> tuple[float, float, float]:
    """(best no-op plan seconds, Score parse seconds, plan-from-files seconds)."""
    with tempfile.TemporaryDirectory(prefix="podium-bench-plan-") as tmp:
        root = Path(tmp)
        platform, _ = make_platform(root, 0.0, parallelism=32)
        try:
            paths = write_workloads(root, nodes)
            first = platform.plan("dev", paths)
            result = platform.apply(first, parallelism=32)
            if not result.ok or first.counts["create"] != nodes:
                raise SystemExit(f"could not fill state with {nodes} nodes: {result.counts}")
            started = time.perf_counter()
            workloads = platform.load_workloads(paths)
            parse = time.perf_counter() - started
            best = float("inf")
            for _ in range(repeats):
                gc.collect()  # every repeat starts from the same heap
                started = time.perf_counter()
                plan = platform.plan("dev", workloads)
                best = min(best, time.perf_counter() - started)
                if plan.has_changes or plan.counts["no-op"] != nodes:
                    raise SystemExit(f"expected a no-op plan of {nodes} nodes: {plan.counts}")
            started = time.perf_counter()
            platform.plan("dev", paths)
            from_files = time.perf_counter() - started
        finally:
            platform.close()
    return best, parse, from_files


def main() -> int:
    warnings.simplefilter("ignore")
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    small, large = (measure(n, repeats) for n in SIZES)
    report = Report("plan")
    report.add(f"no-op plan, {SIZES[0]:,} nodes in state", small[0], "s")
    report.add(f"no-op plan, {SIZES[1]:,} nodes in state", large[0], "s", at_most=2.0)
    report.add("10x nodes -> time ratio", ratio(large[0], small[0]), "x", at_most=12.0)
    report.add(f"parse Score files for {SIZES[1]:,} resources", large[1], "s")
    report.add(f"no-op plan from the files, {SIZES[1]:,} nodes", large[2], "s")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
