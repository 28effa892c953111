"""State durability cost: the share of apply time spent making outcomes durable.

The same apply as bench_engine (2,000 nodes, 20 ms per operation, parallelism
32) with the environment's state store wrapped so every call into it is timed.
The engine journals an intent before each side effect and commits the outcome
with the node's record after it, so a node's outcome is durable before any
dependent starts; the figure is the time spent in those calls (and the run's
own: lock, history) as a share of the time nodes took. Target: at most 10%.

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


def trial() -> tuple[float, float, float, TimedStore]:
    """(store seconds, node seconds, apply wall, the timed store) of one fresh apply."""
    with tempfile.TemporaryDirectory(prefix="podium-bench-state-") as tmp:
        root = Path(tmp)
        platform, _ = make_platform(root, OP_SECONDS, PARALLELISM)
        try:
            plan = platform.plan("dev", [write_workload(root, layered_dag(NODES, DEPTH))])
            timed = TimedStore(platform.store("dev"))
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
    runs = [trial() for _ in range(trials)]
    store_s, node_s, wall, timed = min(runs, key=lambda r: r[0] / r[1])
    report = Report("state")
    report.add(
        f"state share of node time ({NODES} nodes, p={PARALLELISM})",
        store_s / node_s,
        "",
        at_most=TARGET,
    )
    intents = timed.calls.get("begin_intent", 0)
    report.add("state calls per node", sum(timed.calls.values()) / NODES, "")
    for name in ("begin_intent", "complete_intent"):
        calls = timed.calls.get(name, 0)
        if calls:
            report.add(
                f"{name} mean wall (queueing included)", timed.seconds[name] / calls * 1e6, "us"
            )
    report.add("intents journaled", intents, "")
    report.add("apply wall time", wall, "s")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
