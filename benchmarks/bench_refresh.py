"""Refresh: reading 1,000 recorded resources against the parallel bound.

1,000 resources are applied once (operations instant), then planned with
``refresh=True`` by a provisioner whose every read sleeps 20 ms, as a remote API
call would, at ``engine.parallelism = 32``. No refresh can beat N x 20 ms / 32;
the figure is the refresh phase divided by that bound, where the refresh phase is
the refreshing plan's time minus the same no-op plan's time without refresh,
both measured in the same run. Reads the sleep overshoots (a busy machine) count
against the figure; the bound with the reads' real duration is reported beside it.

Run: python benchmarks/bench_refresh.py [trials]
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any

from _common import Report, ratio
from _graph import SleepProvisioner, platform_config, write_workloads

from podium import hookimpl
from podium.provisioning import Provisioner
from podium.provisioning.contract import ResourceContext

RESOURCES = 1000
READ_SECONDS = 0.020
PARALLELISM = 32
TARGET = 1.15


class SlowReadProvisioner(SleepProvisioner):
    """Creates instantly; every read takes :data:`READ_SECONDS`, like a remote API."""

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        started = time.perf_counter()
        time.sleep(READ_SECONDS)
        took = time.perf_counter() - started
        with self._lock:
            self.calls += 1
            self.busy += took
        return {"name": ctx.physical_name}


def _platform(root: Path) -> tuple[Any, SlowReadProvisioner]:
    from podium.api import Platform

    provisioner = SlowReadProvisioner()
    module = types.ModuleType("podium_bench_refresh_plugin")
    module.PODIUM_API = ">=1.0,<2"  # type: ignore[attr-defined]

    @hookimpl
    def podium_provisioners() -> list[Provisioner]:
        return [provisioner]

    module.podium_provisioners = podium_provisioners  # type: ignore[attr-defined]
    platform = Platform(
        platform_config(PARALLELISM),
        root=root,
        plugins=[("bench", module)],
        load_entrypoints=False,
    )
    return platform, provisioner


def trial(platform: Any, provisioner: SlowReadProvisioner, workloads: Any) -> tuple[float, float]:
    """(refresh phase seconds, seconds the reads really took in total)."""
    gc.collect()
    started = time.perf_counter()
    plain = platform.plan("dev", workloads)
    without = time.perf_counter() - started
    gc.collect()
    calls, busy = provisioner.calls, provisioner.busy
    started = time.perf_counter()
    refreshed = platform.plan("dev", workloads, refresh=True)
    with_refresh = time.perf_counter() - started
    reads = provisioner.calls - calls
    if reads != RESOURCES or plain.has_changes or refreshed.has_changes:
        raise SystemExit(f"expected {RESOURCES} reads and no changes: {refreshed.counts}, {reads}")
    return with_refresh - without, provisioner.busy - busy


def main() -> int:
    warnings.simplefilter("ignore")  # the in-process plugin's registration notes
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    bound = RESOURCES * READ_SECONDS / PARALLELISM
    with tempfile.TemporaryDirectory(prefix="podium-bench-refresh-") as tmp:
        root = Path(tmp)
        platform, provisioner = _platform(root)
        try:
            paths = write_workloads(root, RESOURCES)
            first = platform.plan("dev", paths)
            if first.counts["create"] != RESOURCES or not platform.apply(first).ok:
                raise SystemExit(f"could not fill state with {RESOURCES} resources")
            workloads = platform.load_workloads(paths)
            runs = [trial(platform, provisioner, workloads) for _ in range(trials)]
        finally:
            platform.close()
    # The least disturbed run: other processes on the machine only ever add time.
    phase, busy = min(runs)
    report = Report("refresh")
    report.add(
        f"refresh phase / (N x {READ_SECONDS * 1000:g} ms / {PARALLELISM}), N={RESOURCES}",
        ratio(phase, bound),
        "x",
        at_most=TARGET,
    )
    report.add("refresh phase", phase, "s")
    report.add("parallel bound N x read / parallelism", bound, "s")
    report.add(
        "refresh phase / bound with the reads' real duration", ratio(phase, busy / PARALLELISM), "x"
    )
    report.add("median over trials", ratio(statistics.median(r[0] for r in runs), bound), "x")
    report.add("serial refresh would take (N x read)", RESOURCES * READ_SECONDS, "s")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
