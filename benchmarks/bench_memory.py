"""Memory: peak resident set size of planning 10,000 nodes.

A first subprocess fills state with 10,000 nodes (50 Score workloads of 200
resources); a second, fresh one loads the platform, parses the files and plans
them (a no-op plan), then reports its own peak RSS (``ru_maxrss``). The same
probe without the plan gives the interpreter-and-imports baseline in the same
run. Target: planning 10,000 nodes peaks under 250 MB.

Run: python benchmarks/bench_memory.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import Report

NODES = 10_000
TARGET_MB = 250.0
HERE = Path(__file__).resolve().parent

FILL = """
import sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from _graph import make_platform, write_workloads
root = Path(sys.argv[1])
platform, _ = make_platform(root, 0.0, parallelism=32)
paths = write_workloads(root, int(sys.argv[2]))
result = platform.apply(platform.plan("dev", paths), parallelism=32)
platform.close()
sys.exit(0 if result.ok else 1)
"""

PROBE = """
import json, resource, sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from _graph import make_platform
root = Path(sys.argv[1])
platform, _ = make_platform(root, 0.0, parallelism=32)
nodes = 0
if sys.argv[2] == "plan":
    plan = platform.plan("dev", sorted(root.glob("*.score.yaml")))
    assert not plan.has_changes, plan.counts
    nodes = plan.counts["no-op"]
platform.close()
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"peak_mb": peak_kib / 1024, "nodes": nodes}))
"""


def run(script: str, *args: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"benchmark subprocess failed:\n{done.stderr[-2000:]}")
    return done.stdout


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="podium-bench-memory-") as tmp:
        run(FILL, tmp, str(NODES))
        baseline = json.loads(run(PROBE, tmp, "baseline"))
        planned = json.loads(run(PROBE, tmp, "plan"))
    if planned["nodes"] != NODES:
        raise SystemExit(f"expected a no-op plan of {NODES} nodes, got {planned['nodes']}")
    report = Report("memory")
    report.add(f"peak RSS planning {NODES:,} nodes", planned["peak_mb"], "MB", at_most=TARGET_MB)
    report.add("peak RSS of the same process without the plan", baseline["peak_mb"], "MB")
    report.add(
        "planning's own share per node",
        (planned["peak_mb"] - baseline["peak_mb"]) * 1024 / NODES,
        "KiB",
    )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
