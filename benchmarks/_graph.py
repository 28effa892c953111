"""Generated graphs and an in-process provisioner shared by the engine benchmarks.

The graphs are real Score workloads: a resource whose params reference another
resource's output (``${resources.rN.name}``) depends on it, so the benchmarks go
through the same load, plan and apply path as any user's files.
"""

from __future__ import annotations

import random
import threading
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium import hookimpl
from podium.provisioning import Provisioner
from podium.provisioning.contract import ResourceContext

RESOURCE_TYPE = "bench-thing"


@dataclass(frozen=True)
class Graph:
    """A layered random DAG: ``deps[i]`` are the indexes node ``i`` depends on."""

    deps: list[list[int]]

    @property
    def size(self) -> int:
        return len(self.deps)

    def depth(self) -> int:
        """Nodes on the longest dependency chain (the critical path in operations)."""
        longest: list[int] = []
        for needs in self.deps:  # nodes come after their dependencies
            longest.append(1 + max((longest[d] for d in needs), default=0))
        return max(longest, default=0)


def layered_dag(nodes: int, depth: int, seed: int = 7, extra_edges: int = 2) -> Graph:
    """``nodes`` split into ``depth`` layers; each node needs one node of the layer
    before it (so the depth is exact) and up to ``extra_edges`` random earlier ones."""
    rng = random.Random(seed)
    per_layer = max(1, nodes // depth)
    layer_of = [min(i // per_layer, depth - 1) for i in range(nodes)]
    starts = [layer_of.index(layer) for layer in range(depth)]
    deps: list[list[int]] = []
    for i in range(nodes):
        layer = layer_of[i]
        if layer == 0:
            deps.append([])
            continue
        needs = {rng.randrange(starts[layer - 1], starts[layer])}
        for _ in range(rng.randint(0, extra_edges)):
            needs.add(rng.randrange(0, starts[layer]))
        deps.append(sorted(needs))
    return Graph(deps)


def score_yaml(graph: Graph, name: str = "bench") -> str:
    """One Score workload whose resources form ``graph``."""
    lines = [
        "apiVersion: score.dev/v1b1",
        "metadata:",
        f"  name: {name}",
        "containers:",
        "  main:",
        "    image: registry.example/bench:1",
        "resources:",
    ]
    for i, needs in enumerate(graph.deps):
        lines.append(f"  r{i}:")
        lines.append(f"    type: {RESOURCE_TYPE}")
        if needs:
            lines.append("    params:")
            for d in needs:
                lines.append(f"      in{d}: ${{resources.r{d}.name}}")
    return "\n".join(lines) + "\n"


class SleepProvisioner(Provisioner):
    """Each operation takes a fixed time, like a remote API call, and does nothing else."""

    name = "bench-sleep"
    resource_type = RESOURCE_TYPE
    seconds = 0.0

    def __init__(self) -> None:
        self.calls = 0
        self.busy = 0.0  #: seconds actually spent in operations (sleep overshoots a little)
        self._lock = threading.Lock()

    def _work(self) -> None:
        started = time.perf_counter()
        if self.seconds:
            time.sleep(self.seconds)
        took = time.perf_counter() - started
        with self._lock:
            self.calls += 1
            self.busy += took

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        self._work()
        return {"name": ctx.physical_name}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return {"name": ctx.physical_name}

    def update(self, ctx: ResourceContext, previous: Mapping[str, Any]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        self._work()


def sleep_plugin(seconds: float) -> tuple[types.ModuleType, SleepProvisioner]:
    """An in-process plugin module registering a :class:`SleepProvisioner`."""
    provisioner = SleepProvisioner()
    provisioner.seconds = seconds
    module = types.ModuleType("podium_bench_plugin")
    module.PODIUM_API = ">=1.0,<2"  # type: ignore[attr-defined]

    @hookimpl
    def podium_provisioners() -> list[Provisioner]:
        return [provisioner]

    module.podium_provisioners = podium_provisioners  # type: ignore[attr-defined]
    return module, provisioner


def platform_config(parallelism: int = 8) -> dict[str, Any]:
    return {
        "platform": {"name": "bench"},
        "environments": {"dev": {}},
        "rules": [{"type": RESOURCE_TYPE, "provisioner": SleepProvisioner.name}],
        "engine": {"parallelism": parallelism},
    }


def make_platform(
    root: Path, seconds: float, parallelism: int = 8, *, spans: bool = False
) -> tuple[Any, SleepProvisioner]:
    """A platform with the sleeping provisioner; ``spans`` exports Podium's spans to JSONL."""
    from podium.api import Platform

    module, provisioner = sleep_plugin(seconds)
    config = platform_config(parallelism)
    if spans:
        config["telemetry"] = {"jsonl": True}
    platform = Platform(
        config,
        root=root,
        plugins=[("bench", module)],
        load_entrypoints=False,
        pause_gc=True,  # a benchmark owns its process, as the CLI does
    )
    return platform, provisioner


def write_workload(root: Path, graph: Graph, name: str = "bench") -> Path:
    path = root / f"{name}.score.yaml"
    path.write_text(score_yaml(graph, name))
    return path


#: Resources per generated workload when a benchmark needs many nodes: Score files
#: over 1 MiB are refused, and real workloads are far smaller than that anyway.
PER_WORKLOAD = 200


def write_workloads(root: Path, nodes: int, depth: int = 10) -> list[Path]:
    """``nodes`` resources spread over workloads of :data:`PER_WORKLOAD`, each a layered DAG."""
    paths = []
    for index, start in enumerate(range(0, nodes, PER_WORKLOAD)):
        size = min(PER_WORKLOAD, nodes - start)
        paths.append(write_workload(root, layered_dag(size, depth, seed=index), f"w{index:04d}"))
    return paths
