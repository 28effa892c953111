"""Operator tools and scheduling limits: state import/forget/unlock, per-plugin parallelism."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from podium import hookimpl
from podium.api import Platform
from podium.errors import LockedError, NotFoundError
from podium.provisioning import Provisioner, ResourceContext


class CountingProvisioner(Provisioner):
    """Records how many creates run at once."""

    name = "counting"
    resource_type = "volume"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.made: set[str] = set()

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
            self.made.add(ctx.physical_name)
        return {"source": ctx.physical_name}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return {"source": ctx.physical_name} if ctx.physical_name in self.made else None

    def delete(self, ctx: ResourceContext) -> None:
        self.made.discard(ctx.physical_name)


def many_resources(tmp_path: Path, count: int) -> Path:
    lines = [f"  r{i}:\n    type: volume\n" for i in range(count)]
    path = tmp_path / "score.yaml"
    path.write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: many\ncontainers:\n  main:\n    image: x:1\n"
        "resources:\n" + "".join(lines)
    )
    return path


def counting_platform(tmp_path: Path, provisioner: CountingProvisioner, **engine: Any) -> Platform:
    plugin = SimpleNamespace(
        PODIUM_API=">=1.0,<2", podium_provisioners=hookimpl(lambda: [provisioner])
    )
    return Platform(
        {
            "environments": {"dev": {}},
            "rules": [{"type": "volume", "provisioner": "counting"}],
            "engine": engine,
            "telemetry": {"jsonl": False},
        },
        root=tmp_path,
        plugins=[("counting", plugin)],
        load_entrypoints=False,
    )


def test_global_parallelism_is_used(tmp_path: Path) -> None:
    provisioner = CountingProvisioner()
    with counting_platform(tmp_path, provisioner, parallelism=4) as platform:
        result = platform.up("dev", [many_resources(tmp_path, 8)])[1]
    assert result.ok and len(provisioner.made) == 8
    assert 1 < provisioner.peak <= 4


def test_per_plugin_limit_caps_concurrency(tmp_path: Path) -> None:
    provisioner = CountingProvisioner()
    with counting_platform(
        tmp_path, provisioner, parallelism=8, per_plugin={"counting": 2}
    ) as platform:
        result = platform.up("dev", [many_resources(tmp_path, 8)])[1]
    assert result.ok and len(provisioner.made) == 8
    assert provisioner.peak == 2


def test_state_import_forget_and_unlock(tmp_path: Path) -> None:
    provisioner = CountingProvisioner()
    score = many_resources(tmp_path, 1)
    provisioner.made.add("existing-thing")
    with counting_platform(tmp_path, provisioner) as platform:
        with pytest.raises(NotFoundError):
            platform.import_resource("dev", [score], "volume.default#many.r0", "not-there")
        record = platform.import_resource(
            "dev", [score], "volume.default#many.r0", "existing-thing"
        )
        assert record.physical_name == "existing-thing"
        plan = platform.plan("dev", [score])
        assert plan.change("volume.default#many.r0").action == "no-op"
        platform.forget("dev", "volume.default#many.r0")
        assert platform.store("dev").records() == []
        assert "existing-thing" in provisioner.made  # forgetting never touches the real resource
        with pytest.raises(NotFoundError):
            platform.forget("dev", "volume.default#many.r0")

        from podium.engine.runtime import LeaseLock

        store = platform.store("dev")
        holder = LeaseLock(store, 60, "apply")
        holder.__enter__()
        try:
            with pytest.raises(LockedError):
                platform.up("dev", [score])
            assert platform.unlock("dev") is not None
            assert platform.up("dev", [score])[1].ok
        finally:
            holder._stop.set()
