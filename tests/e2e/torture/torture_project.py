"""A platform directory with the torture plugin installed for real, and checks on it."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DISTRIBUTION = "podium-torture"
VERSION = "1.0.0"
_SITE_MARK = "torture-site"

CONFIG = """\
[platform]
name = "torture"
workloads = ["*.score.yaml"]

[plugins]
allow = ["torture"]

[environments.dev]

[[rules]]
type = "dir"
provisioner = "torture-dir"

[engine]
retries = 0

[telemetry]
jsonl = true
"""


class Project:
    """``podium.toml``, Score files, a world directory and a site directory with the plugin."""

    def __init__(self, root: Path, config: str = CONFIG) -> None:
        self.root = root
        self.site = root / _SITE_MARK
        self.site.mkdir(parents=True)
        self.world = root / "world"
        self.world.mkdir()
        shutil.copy(HERE / "torture_world.py", self.site / "torture_world.py")
        dist = self.site / f"podium_torture-{VERSION}.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {VERSION}\n"
        )
        (dist / "entry_points.txt").write_text("[podium.plugins]\ntorture = torture_world\n")
        (root / "podium.toml").write_text(config)

    def install(self, distribution: str, version: str, plugin: str, source: str) -> None:
        """Install one more plugin distribution (module ``source``) into the site directory."""
        module = distribution.replace("-", "_")
        (self.site / f"{module}.py").write_text(source)
        dist = self.site / f"{module}-{version}.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        )
        (dist / "entry_points.txt").write_text(f"[podium.plugins]\n{plugin} = {module}\n")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "OTEL_"))}
        env.update(
            PYTHONPATH=os.pathsep.join([str(self.site), env.get("PYTHONPATH", "")]),
            PODIUM_TORTURE_WORLD=str(self.world),
            NO_COLOR="1",
        )
        env.update(extra)
        return env

    def podium(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        """Start ``podium ARGS`` in the project (a real CLI process)."""
        return subprocess.Popen(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self, *args: str, timeout: float = 120, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def write_workload(self, name: str, resources: dict[str, dict[str, Any]]) -> Path:
        path = self.root / f"{name}.score.yaml"
        path.write_text(score_yaml(name, resources))
        return path

    def platform(self) -> Any:
        """The project's platform in this process, with the plugin imported from the site dir."""
        from podium.api import Platform

        if str(self.site) not in sys.path:
            # One torture site at a time: another test's copy would be a second
            # distribution of the same plugin name.
            sys.path[:] = [p for p in sys.path if not p.endswith(_SITE_MARK)]
            sys.path.insert(0, str(self.site))
            from podium.plugins.discovery import clear_cache

            clear_cache()
        os.environ["PODIUM_TORTURE_WORLD"] = str(self.world)
        return Platform.from_file(self.root / "podium.toml")


def score_yaml(name: str, resources: dict[str, dict[str, Any]]) -> str:
    lines = [
        "apiVersion: score.dev/v1b1",
        "metadata:",
        f"  name: {name}",
        "containers:",
        "  main:",
        "    image: example/torture:1",
        "resources:",
    ]
    for resource, params in resources.items():
        lines += [f"  {resource}:", "    type: dir"]
        if params:
            lines.append("    params:")
            lines += [f"      {key}: {value}" for key, value in params.items()]
    if not resources:
        lines[-1] = "resources: {}"
    return "\n".join(lines) + "\n"


def random_resources(rng: random.Random, pool: int = 24) -> dict[str, dict[str, Any]]:
    """A random subset of ``r0..r{pool-1}``, each maybe depending on earlier chosen ones.

    Successive calls differ in which resources exist (creates and deletes), in
    their params (updates) and in their edges, like a team's workload over time.
    """
    chosen = sorted(rng.sample(range(pool), rng.randint(pool // 2, pool)))
    resources: dict[str, dict[str, Any]] = {}
    for position, index in enumerate(chosen):
        params: dict[str, Any] = {"size": rng.randint(1, 3)}
        for dep in rng.sample(chosen[:position], min(position, rng.randint(0, 2))):
            params[f"in{dep}"] = f"${{resources.r{dep}.path}}"
        resources[f"r{index}"] = params
    return resources


def check_state_is_reality(platform: Any, world: Path, desired: set[str] | None = None) -> None:
    """Zero leaks, zero duplicates, every record real and every real resource recorded."""
    store = platform.store("dev")
    assert store.pending_intents() == [], "intents left pending"
    records = {r.uid: r for r in store.records() if r.kind == "resource"}
    outputs = platform.outputs("dev")
    real: dict[str, list[str]] = {}
    for entry in world.iterdir():
        physical, _, _ = entry.name.partition("--")
        real.setdefault(physical, []).append(entry.name)
    duplicates = {name: ids for name, ids in real.items() if len(ids) > 1}
    assert not duplicates, f"duplicate resources: {duplicates}"
    recorded = {r.physical_name: uid for uid, r in records.items()}
    leaked = sorted(set(real) - set(recorded))
    assert not leaked, f"real resources nobody recorded (leaked): {leaked}"
    ghosts = sorted(set(recorded) - set(real))
    assert not ghosts, f"records of resources that do not exist: {ghosts}"
    for physical, uid in recorded.items():
        assert outputs[uid]["id"] == real[physical][0], f"{uid} records a different resource"
    if desired is not None:
        assert {r.spec.get("name") for r in records.values()} == desired
