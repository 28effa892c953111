"""Engine efficiency: apply wall time against the ideal bound of the graph.

A 2,000-node random DAG (depth 10) of Score resources is applied at parallelism
32 by a provisioner whose every operation sleeps 20 ms, as a remote API call
would. No scheduler can beat ``max(critical path, total work / parallelism)``;
the figure is the apply's wall time divided by that bound, where the work is
what the operations really took (sleep overshoots a little on a busy machine).
Engine CPU per node is the process CPU time of the apply over the nodes (the
sleeping provisioner uses none). The target is checked on the default config;
the same apply with Podium's spans exported to spans.jsonl is reported beside it.

Run: python benchmarks/bench_engine.py [trials]
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

from _common import Report, ratio
from _graph import layered_dag, make_platform, write_workload

NODES = 2000
DEPTH = 10
OP_SECONDS = 0.020
PARALLELISM = 32
TARGET = 1.10


def trial(spans: bool = False) -> tuple[float, float, float, float]:
    """One fresh apply: (wall seconds, ideal seconds, CPU seconds, plan seconds)."""
    graph = layered_dag(NODES, DEPTH)
    with tempfile.TemporaryDirectory(prefix="podium-bench-engine-") as tmp:
        root = Path(tmp)
        platform, provisioner = make_platform(root, OP_SECONDS, PARALLELISM, spans=spans)
        try:
            path = write_workload(root, graph)
            started = time.perf_counter()
            plan = platform.plan("dev", [path])
            planned = time.perf_counter() - started
            cpu0, started = time.process_time(), time.perf_counter()
            result = platform.apply(plan, parallelism=PARALLELISM)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu0
        finally:
            platform.close()
    if not result.ok or provisioner.calls != NODES:
        raise SystemExit(f"apply did not create every node: {result.counts}")
    mean_op = provisioner.busy / provisioner.calls
    ideal = max(graph.depth() * mean_op, provisioner.busy / PARALLELISM)
    return wall, ideal, cpu, planned


def main() -> int:
    warnings.simplefilter("ignore")  # the in-process plugin's registration notes
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    runs, traced = [], []
    for _ in range(trials):  # alternate, so both see the same machine weather
        runs.append(trial())
        traced.append(trial(spans=True))
    # The least disturbed run: other processes on the machine only ever add time.
    wall, ideal, cpu, planned = min(runs, key=lambda r: ratio(r[0], r[1]))
    report = Report("engine")
    report.add(
        f"apply wall / ideal bound ({NODES} nodes, p={PARALLELISM})",
        ratio(wall, ideal),
        "x",
        at_most=TARGET,
    )
    report.add("apply wall time", wall, "s")
    report.add("ideal bound max(critical path, work/parallelism)", ideal, "s")
    report.add("engine CPU per node", cpu / NODES * 1e6, "us")
    report.add(f"plan of {NODES} creates (Score file parsed)", planned, "s")
    report.add(
        "median ratio over trials", sorted(ratio(r[0], r[1]) for r in runs)[len(runs) // 2], "x"
    )
    t_wall, t_ideal, t_cpu, _ = min(traced, key=lambda r: ratio(r[0], r[1]))
    report.add(
        "with spans exported to JSONL: apply wall / ideal bound", ratio(t_wall, t_ideal), "x"
    )
    report.add("with spans exported to JSONL: engine CPU per node", t_cpu / NODES * 1e6, "us")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
