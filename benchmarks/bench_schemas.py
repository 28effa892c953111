"""What resource schema checks cost: validating 10,000 resources with and without a schema.

The same generated workloads (every resource's params reference other resources'
outputs) are validated twice in one run: against a provisioner that declares nothing
(nothing to check: the baseline) and against the same provisioner declaring a params
model and its outputs (every param validated, every placeholder checked against the
outputs). Target: the checks add at most half again to ``validate``.

Run: python benchmarks/bench_schemas.py [repeats]
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any, ClassVar

from _common import Report, ratio
from _graph import SleepProvisioner, platform_config, write_workloads
from pydantic import BaseModel, ConfigDict

from podium import hookimpl
from podium.provisioning import Output, Param, Provisioner

NODES = 10_000


class BenchParams(BaseModel):
    model_config = ConfigDict(extra="allow")  # the generated params are in0, in1, ...

    size: int = Param(1, forces_replacement=True, description="Unused by the benchmark.")


class DeclaredProvisioner(SleepProvisioner):
    params_model = BenchParams
    output_fields: ClassVar[dict[str, Output]] = {"name": Output("The physical name.")}


def plugin(provisioner: Provisioner) -> types.ModuleType:
    module = types.ModuleType("podium_bench_schemas")
    module.PODIUM_API = ">=1.0,<2"  # type: ignore[attr-defined]

    @hookimpl
    def podium_provisioners() -> list[Provisioner]:
        return [provisioner]

    module.podium_provisioners = podium_provisioners  # type: ignore[attr-defined]
    return module


def make_platform(root: Path, provisioner: Provisioner) -> Any:
    from podium.api import Platform

    return Platform(
        platform_config(),
        root=root,
        plugins=[("bench", plugin(provisioner))],
        load_entrypoints=False,
    )


def main() -> int:
    warnings.simplefilter("ignore")
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    from podium.workload.loader import load_workloads

    with tempfile.TemporaryDirectory(prefix="podium-bench-schemas-") as tmp:
        root = Path(tmp)
        paths = write_workloads(root, NODES)
        platforms = {
            "undeclared": make_platform(root / "a", SleepProvisioner()),
            "declared": make_platform(root / "b", DeclaredProvisioner()),
        }
        best = dict.fromkeys(platforms, float("inf"))
        try:
            # Alternate the two, so a load change on the machine hits both alike.
            for _ in range(repeats):
                for name, platform in platforms.items():
                    # Fresh objects each time: nothing found in an earlier run is reused.
                    workloads = load_workloads(paths)
                    gc.collect()
                    started = time.perf_counter()
                    platform.validate("dev", workloads)
                    best[name] = min(best[name], time.perf_counter() - started)
        finally:
            for platform in platforms.values():
                platform.close()
    report = Report("schemas")
    report.add(f"validate {NODES:,} resources, no schema", best["undeclared"], "s")
    report.add(f"validate {NODES:,} resources, params and outputs checked", best["declared"], "s")
    report.add(
        "schema checks -> time ratio",
        ratio(best["declared"], best["undeclared"]),
        "x",
        at_most=1.5,
    )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
