"""State durability cost: the share of apply wall time that durable state costs.

The same apply as bench_engine (2,000 nodes, 20 ms per operation, parallelism
32), twice in the same run: once on the real SQLite store, which journals each
intent before its side effect and commits each outcome before any dependent
starts, and once on the same store with the journal writes made no-ops (the
baseline: nothing persisted). The figure is the wall time durability adds, as a
share of the durable apply's wall time. Target: at most 10%. The time spent
inside state calls is reported beside it (as a share of apply wall time, and
of the nodes' time).

Run: python benchmarks/bench_state.py [trials]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import Report
from _graph import layered_dag, make_platform, write_workload

NODES = 2000
DEPTH = 10
OP_SECONDS = 0.020
PARALLELISM = 32
TARGET = 0.10


class TimedStore:
    """Delegates to a real state store, adding up the wall time of every method call."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not callable(value) or name.startswith("_"):
            return value
        return self._timed(name, value)

    def fenced(self, epoch: int) -> TimedStore:
        # The engine writes through its lease's fenced view: time that, on the same books.
        view = TimedStore(self._store.fenced(epoch))
        view._lock, view.seconds, view.calls = self._lock, self.seconds, self.calls
        return view

    def _timed(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                took = time.perf_counter() - started
                with self._lock:
                    self.seconds[name] = self.seconds.get(name, 0.0) + took
                    self.calls[name] = self.calls.get(name, 0) + 1

        return call


class JournalOff:
    """The real store with the per-node journal writes made no-ops: the baseline."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._next = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def fenced(self, epoch: int) -> JournalOff:
        return JournalOff(self._store.fenced(epoch))

    def begin_intents(self, intents: Any) -> list[int]:
        first, self._next = self._next, self._next + len(intents)
        return list(range(first, self._next))

    def complete_intents(self, outcomes: Any) -> None:
        return None


def trial(durable: bool) -> tuple[float, float, float, TimedStore]:
    """(store seconds, node seconds, apply wall, the timed store) of one fresh apply."""
    with tempfile.TemporaryDirectory(prefix="podium-bench-state-") as tmp:
        root = Path(tmp)
        platform, _ = make_platform(root, OP_SECONDS, PARALLELISM)
        try:
            plan = platform.plan("dev", [write_workload(root, layered_dag(NODES, DEPTH))])
            store = platform.store("dev")
            timed = TimedStore(store if durable else JournalOff(store))
            platform._stores["dev"] = timed  # the platform hands this store to the engine
            started = time.perf_counter()
            result = platform.apply(plan, parallelism=PARALLELISM)
            wall = time.perf_counter() - started
        finally:
            platform.close()
    if not result.ok:
        raise SystemExit(f"apply failed: {result.counts}")
    node_seconds = sum(r.seconds for r in result.results)
    return sum(timed.seconds.values()), node_seconds, wall, timed


def main() -> int:
    warnings.simplefilter("ignore")
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    # Alternate, so both kinds of run see the same machine weather.
    durable_runs, baseline_runs = [], []
    for _ in range(trials):
        durable_runs.append(trial(durable=True))
        baseline_runs.append(trial(durable=False))
    durable_wall = sorted(r[2] for r in durable_runs)[trials // 2]
    baseline_wall = sorted(r[2] for r in baseline_runs)[trials // 2]
    store_s, node_s, wall, timed = min(durable_runs, key=lambda r: r[2])
    report = Report("state")
    report.add(
        f"durability cost: share of apply wall time ({NODES} nodes, p={PARALLELISM})",
        max(0.0, durable_wall - baseline_wall) / durable_wall,
        "",
        at_most=TARGET,
    )
    report.add("apply wall, durable (median)", durable_wall, "s")
    report.add("apply wall, journal off (median)", baseline_wall, "s")
    report.add("time inside state calls / apply wall", store_s / wall, "")
    report.add("time inside state calls / node time", store_s / node_s, "")
    for name in ("begin_intents", "complete_intents"):
        calls = timed.calls.get(name, 0)
        if calls:
            report.add(f"{name}: calls (one transaction each)", calls, "")
            report.add(f"{name}: mean wall per call", timed.seconds[name] / calls * 1e6, "us")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
