"""Shared helpers for benchmarks: timing, a results table, JSON output and the exit code.

Every benchmark compares against a baseline measured in the same run and
reports ratios, because absolute times differ from machine to machine.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

RESULTS = Path(__file__).resolve().parent / "results"
TESTS = Path(__file__).resolve().parent.parent / "tests"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None  #: ``None``: informational, no target


class Report:
    """Collects figures, prints them as a table, writes results/<name>.json."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.figures: list[Figure] = []

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        at_most: float | None = None,
        at_least: float | None = None,
    ) -> Figure:
        target, passed = "", None
        if at_most is not None:
            target, passed = f"<= {at_most:g}", value <= at_most
        elif at_least is not None:
            target, passed = f">= {at_least:g}", value >= at_least
        figure = Figure(name, value, unit, target, passed)
        self.figures.append(figure)
        return figure

    def check(self, name: str, ok: bool, detail: str) -> Figure:
        """A yes/no figure (for example: no heavy module imported)."""
        figure = Figure(name, 1.0 if ok else 0.0, detail, "yes", ok)
        self.figures.append(figure)
        return figure

    @property
    def failed(self) -> list[Figure]:
        return [f for f in self.figures if f.passed is False]

    def print_table(self) -> None:
        rows = [("figure", "value", "target", "result")]
        for f in self.figures:
            result = "-" if f.passed is None else ("pass" if f.passed else "FAIL")
            rows.append((f.name, f"{f.value:.3f} {f.unit}".strip(), f.target or "-", result))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        print(f"\n{self.name}")
        for index, row in enumerate(rows):
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if index == 0:
                print("  ".join("-" * width for width in widths))

    def write_json(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        data = {
            "benchmark": self.name,
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "figures": [asdict(f) for f in self.figures],
            "passed": not self.failed,
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
        return path

    def finish(self) -> int:
        """Print, write JSON, and return the process exit code (1 if a target is missed)."""
        self.print_table()
        path = self.write_json()
        print(f"\nresults: {path}")
        if self.failed:
            print("missed: " + ", ".join(f.name for f in self.failed))
            return 1
        return 0


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else float("inf")


def per_call(func: Callable[[], object], *, number: int, repeat: int = 7) -> float:
    """Best (least disturbed) seconds per call over ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def tests_helper(relative: str) -> ModuleType:
    """The test suite's helper module ``tests/<relative>.py`` (``"engine/fake_site"``), loaded
    by path: a benchmark sets up what the tests do with their code, not a copy of it."""
    name = "podium_tests_" + relative.replace("/", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{relative}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no test helper tests/{relative}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and pickling look it up
    spec.loader.exec_module(module)
    return module


def median_wall(command: Sequence[str], *, runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall-clock seconds of running ``command`` to completion ``runs`` times."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def wait_for_warm_process(command: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
    """Until the warm process (started by an earlier run) runs ``command``
    (``[python, "-m", "podium", *args]``)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = subprocess.run(
            [*command[:3], "--debug", *command[3:]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
        if "the warm process runs this command" in done.stderr:
            return
        time.sleep(0.2)
    raise SystemExit(f"the warm process never ran {' '.join(command)}")


def stop_warm_processes(runtime: Path) -> None:
    """Stop the warm processes whose sockets are in ``runtime`` (a benchmark's own)."""
    import contextlib
    import os
    import signal

    for lock in (runtime / "podium").glob("warm-*.lock"):
        pid = lock.read_text().strip()
        if pid.isdigit():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGTERM)
