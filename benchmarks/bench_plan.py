"""Plan scaling, and planning straight from Score files against parsing them with libyaml.

Scaling: each size is applied once (operations instant), then planned again with
nothing to change: the plan reads state, builds the desired graph, diffs it, runs the
policies. The workloads are loaded before timing, so the figure is the engine's.
Targets: 10,000 nodes in under 2 s, and no worse than linear: 10x the nodes (2,000 ->
20,000) in at most 12x the time. The sizes are timed in turns, so a busy spell on the
machine slows both rather than one; each figure is the best of as many single plans per
size (10 rounds), each started right after a full collection and after a plan of another
size (a 1,000-node base of 34 ms once gave 12.5 on noise alone). The ratio of the
medians is shown beside it.

Parsing: a no-op plan of 10,000 resources straight from their Score files (read,
parse, validate, plan) against loading the same files with libyaml alone
(``yaml.load(text, Loader=yaml.CSafeLoader)``), timed in turns in the same process,
best of several: target at most 3x. Loading alone is reported beside it. The plan runs
as the ``podium`` command runs it, with the garbage collector paused from loading the
files to the end of the plan (``pause_gc``), so libyaml is timed with the collector
paused too: with a 10,000-node platform on the heap, the collector's passes take more
than half of libyaml's own time, and a baseline slowed by them would flatter the ratio
(libyaml with the collector on, and the ratio to that, are reported beside it).

Run: python benchmarks/bench_plan.py [rounds]
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml
from _common import Report, ratio
from _graph import make_platform, write_workloads

from podium.engine.gc_pause import gc_paused

BASE, TARGET_SIZE, LARGE = 2_000, 10_000, 20_000


def filled_platform(stack: ExitStack, nodes: int) -> tuple[Any, list[Path]]:
    """A platform whose state holds ``nodes`` applied resources, and their Score files."""
    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="podium-bench-plan-")))
    platform, _ = make_platform(root, 0.0, parallelism=32)
    stack.callback(platform.close)
    paths = write_workloads(root, nodes)
    first = platform.plan("dev", paths)
    result = platform.apply(first, parallelism=32)
    if not result.ok or first.counts["create"] != nodes:
        raise SystemExit(f"could not fill state with {nodes} nodes: {result.counts}")
    return platform, paths


def noop_plan(platform: Any, inputs: list[Any], nodes: int) -> Callable[[], None]:
    def run() -> None:
        plan = platform.plan("dev", inputs)
        if plan.has_changes or plan.counts["no-op"] != nodes:
            raise SystemExit(f"expected a no-op plan of {nodes} nodes: {plan.counts}")

    return run


def libyaml_load(paths: list[Path]) -> Callable[[], None]:
    def run() -> None:
        for path in paths:
            yaml.load(path.read_bytes().decode("utf-8-sig"), Loader=yaml.CSafeLoader)

    return run


def collector_paused(call: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        with gc_paused():
            call()

    return run


def timed_in_turns(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each single call of ``calls``, timed in turns for ``rounds`` rounds.

    Every call is timed the same number of times, alone, right after a full collection,
    and each comes after a call of another kind. Repeating the quick call within its
    turn (as this did before) let all but the first repeat run on data its previous run
    had left in the caches, which a 20,000-node plan never fits in, and its best of six
    times as many samples was lower for that alone: the base's time was flattering.
    """
    for call in calls.values():
        call()  # warm-up: imports, first-use caches
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            gc.collect()
            started = time.process_time()
            call()
            times[name].append(time.process_time() - started)
    return times


def best(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: min(values) for name, values in times.items()}


def main() -> int:
    warnings.simplefilter("ignore")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    report = Report("plan")
    with ExitStack() as stack:
        # Parsing first, while the heap holds one platform: a larger heap makes every
        # collection of the garbage collector slower, for the loader and for libyaml alike.
        platforms = {TARGET_SIZE: filled_platform(stack, TARGET_SIZE)}
        platform, paths = platforms[TARGET_SIZE]
        parsing = best(
            timed_in_turns(
                {
                    "libyaml": libyaml_load(paths),
                    "libyaml, collector paused": collector_paused(libyaml_load(paths)),
                    "load": collector_paused(lambda: platform.load_workloads(paths)),
                    "plan": noop_plan(platform, paths, TARGET_SIZE),
                },
                rounds,
            )
        )
        platforms.update((n, filled_platform(stack, n)) for n in (BASE, LARGE))
        loaded = {n: p.load_workloads(paths) for n, (p, paths) in platforms.items()}
        samples = timed_in_turns(
            {str(n): noop_plan(platforms[n][0], loaded[n], n) for n in platforms}, rounds
        )
    engine = best(samples)
    base, target, large = (engine[str(n)] for n in (BASE, TARGET_SIZE, LARGE))
    report.add(f"no-op plan, {BASE:,} nodes in state", base, "s")
    report.add(f"no-op plan, {TARGET_SIZE:,} nodes in state", target, "s", at_most=2.0)
    report.add(f"no-op plan, {LARGE:,} nodes in state", large, "s")
    report.add(
        f"10x nodes -> time ratio ({BASE:,} -> {LARGE:,})", ratio(large, base), "x", at_most=12.0
    )
    middle = {name: statistics.median(values) for name, values in samples.items()}
    report.add(
        f"10x nodes -> time ratio of the medians over {rounds} rounds",
        ratio(middle[str(LARGE)], middle[str(BASE)]),
        "x",
    )
    report.add(
        f"libyaml load of the Score files, {TARGET_SIZE:,} resources, collector on",
        parsing["libyaml"],
        "s",
    )
    report.add(
        f"load and validate the Score files, {TARGET_SIZE:,} resources (paused)",
        parsing["load"],
        "s",
    )
    report.add(f"no-op plan from the files, {TARGET_SIZE:,} resources", parsing["plan"], "s")
    report.add(
        "libyaml load, collector paused (the baseline)",
        parsing["libyaml, collector paused"],
        "s",
    )
    report.add(
        "plan from files / libyaml load, both with the collector paused",
        ratio(parsing["plan"], parsing["libyaml, collector paused"]),
        "x",
        at_most=3.0,
    )
    report.add(
        "plan from files / libyaml load with the collector on (flattering)",
        ratio(parsing["plan"], parsing["libyaml"]),
        "x",
    )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
