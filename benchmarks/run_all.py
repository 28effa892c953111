"""Run every benchmark (bench_*.py next to this file); exit non-zero if any missed a target.

Each benchmark runs in its own process, prints its table and writes
results/<name>.json; this prints a summary at the end.

Run: python benchmarks/run_all.py [name ...]   (names filter, e.g. "engine plan")
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    outcomes: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], cwd=HERE).returncode
        outcomes.append((script.stem, code, time.perf_counter() - started))
    print("\nsummary")
    for name, code, seconds in outcomes:
        verdict = "pass" if code == 0 else ("MISSED" if code == 1 else f"ERROR (exit {code})")
        print(f"  {name:<16} {verdict:<14} {seconds:6.1f} s")
    failed = [name for name, code, _ in outcomes if code != 0]
    if failed:
        print("targets missed or errors in: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
