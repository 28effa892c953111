"""Developer commands against a bare interpreter: ``status``, ``plan``, ``plugins list``, ``--version``.

Deploys the shop example (examples/shop: real PostgreSQL, redis and supervised
processes through podium-local) in a temporary directory, then runs each command
N times as a developer would (``python -m podium ...`` in the project directory),
each run in turn with ``python -c pass``, and reports both medians and their ratio. When the PostgreSQL or redis binaries are missing (or with ``--fake``), the
platform is the engine tests' fake plugin (tests/engine/fake_platform.py, installed
as a real entry point) instead, and the report says so.

Commands run as at a developer's terminal: the read-only ones by the warm process
(``PODIUM_WARM=1``, see podium.cli.warm; a terminal turns it on by itself), which the
first, uncounted run starts. The same commands run in-process (``PODIUM_WARM=0``, what
scripts and CI get) are reported too, without a target.

Targets: status <= 20x, plan <= 20x, plugins list <= 15x, --version <= 4x.

Run: python benchmarks/bench_cli.py [runs] [--fake]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _common import (
    Report,
    median_wall,
    ratio,
    stop_warm_processes,
    tests_helper,
    wait_for_warm_process,
)

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"status": 20.0, "plan": 20.0, "plugins list": 15.0, "--version": 4.0}
COMMANDS = {
    "status": ["status"],
    "plan": ["plan"],
    "plugins list": ["plugins", "list"],
    "--version": ["--version"],
}


def _run(command: Sequence[str], cwd: Path, env: dict[str, str], ok: Sequence[int]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in ok:  # the figure would lie
        raise SystemExit(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return seconds


def median_pair(
    command: Sequence[str], *, runs: int, cwd: Path, env: dict[str, str], ok: Sequence[int]
) -> tuple[float, float]:
    """Median wall seconds of ``command`` and of ``python -c pass`` run in turn with it.

    Interleaving keeps the ratio fair on a machine whose load changes during the run;
    one warm-up run of the command is not counted.
    """
    _run(command, cwd, env, ok)
    times, bare = [], []
    for _ in range(runs):
        bare.append(_run([sys.executable, "-c", "pass"], cwd, env, (0,)))
        times.append(_run(command, cwd, env, ok))
    return statistics.median(times), statistics.median(bare)


def shop_available() -> bool:
    from podium_local.binaries import postgres_binary

    try:
        postgres_binary("initdb", None)
    except Exception:
        return False
    return shutil.which("redis-server") is not None


def fake_project(root: Path, env: dict[str, str]) -> dict[str, str]:
    """The engine tests' fake plugin as an installed distribution, one workload."""
    site: Path = tests_helper("engine/fake_site").install_fake_plugin(root / "site")
    (root / "podium.toml").write_text(
        '[platform]\nname = "bench"\nworkloads = ["web.score.yaml"]\n\n'
        '[plugins]\nallow = ["fake"]\n\n[environments.dev]\ndeployer = "fake-deployer"\n\n'
        '[[rules]]\ntype = "volume"\nprovisioner = "fake-dir"\n'
    )
    (root / "web.score.yaml").write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: example/web:1.0\n    variables:\n      DATA: ${resources.data.source}\n"
        "resources:\n  data:\n    type: volume\n"
    )
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))}


def stop_shop_servers(project: Path) -> None:
    """What ``destroy`` leaves running for the environment (the servers), as the tests do."""
    from podium.plugin import EnvironmentInfo
    from podium_local.servers.postgres_cluster import PostgresCluster
    from podium_local.servers.redis_server import RedisServer
    from podium_local.settings import Settings

    info = EnvironmentInfo(
        platform="shop", environment="dev", state_dir=project / ".podium" / "dev"
    )
    cluster = PostgresCluster(info, Settings())
    if cluster.home.exists():
        with cluster.locked():
            cluster.stop_and_remove()
    redis = RedisServer(info, Settings())
    if redis.home.exists():
        redis.stop_and_remove()
    if os.geteuid() == 0:
        from podium_local.isolation import runtime_dir

        shutil.rmtree(runtime_dir(info), ignore_errors=True)


def main(argv: list[str]) -> int:
    runs = next((int(a) for a in argv if a.isdigit()), 7)
    use_shop = "--fake" not in argv and shop_available()
    python = sys.executable
    podium = [python, "-m", "podium"]
    # PYTHONDONTWRITEBYTECODE would compile every changed module on every run: a
    # developer's machine keeps bytecode, and the warm-up run below writes it.
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PODIUM_", "OTEL_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    base_env["NO_COLOR"] = "1"
    report = Report("bench_cli")
    with tempfile.TemporaryDirectory(prefix="podium-bench-cli-") as tmp:
        project = Path(tmp) / "project"
        runtime = Path(tmp) / "run"  # the warm process's socket directory, this run's own
        runtime.mkdir(mode=0o700)
        if use_shop:
            shutil.copytree(REPO / "examples" / "shop", project)
            with (project / "podium.toml").open("a") as config:
                # A loaded machine can take over 2 s to run the worker's readiness check.
                config.write("\n[plugins.local]\nprobe_timeout = 10.0\n")
                if os.geteuid() == 0:
                    # The interpreter may live under /root, closed to a workload's own user.
                    config.write('workload_user = "root"\n')
            env = base_env
        else:
            project.mkdir()
            env = fake_project(project, base_env)
        try:
            started = time.perf_counter()
            up = subprocess.run(
                [*podium, "up", "--yes"], cwd=project, env=env, capture_output=True, text=True
            )
            deployed_in = time.perf_counter() - started
            if up.returncode != 0:
                print(up.stdout, up.stderr, file=sys.stderr)
                return 2
            time.sleep(1.0)  # let the background probers record once
            median_wall([python, "-c", "pass"], runs=2, env=env)  # warm the OS caches
            warm_env = {**env, "PODIUM_WARM": "1", "XDG_RUNTIME_DIR": str(runtime)}
            cold_env = {**env, "PODIUM_WARM": "0"}
            subprocess.run([*podium, "status"], cwd=project, env=warm_env, capture_output=True)
            wait_for_warm_process([*podium, "status"], project, warm_env)
            figures = {
                name: median_pair([*podium, *args], runs=runs, cwd=project, env=warm_env, ok=(0,))
                for name, args in COMMANDS.items()
            }
            figures["status --probe"] = median_pair(
                [*podium, "status", "--probe"], runs=runs, cwd=project, env=warm_env, ok=(0,)
            )
            cold = {
                name: median_pair([*podium, *args], runs=runs, cwd=project, env=cold_env, ok=(0,))
                for name, args in COMMANDS.items()
                if name != "--version"
            }
        finally:
            stop_warm_processes(runtime)
            subprocess.run([*podium, "destroy", "--yes"], cwd=project, env=env, capture_output=True)
            if use_shop:
                stop_shop_servers(project)
    report.add("platform: shop (podium-local)" if use_shop else "platform: fake plugin", 1, "")
    report.add("podium up (deploy, once)", deployed_in, "s")
    for name, (seconds, bare) in figures.items():
        report.add(f"podium {name}", seconds * 1000, "ms")
        report.add("  python -c pass, run in turn with it", bare * 1000, "ms")
        # status --probe: informational (it runs every probe)
        report.add(f"ratio {name} / python", ratio(seconds, bare), "x", at_most=TARGETS.get(name))
    for name, (seconds, bare) in cold.items():
        report.add(f"in-process podium {name} (PODIUM_WARM=0)", seconds * 1000, "ms")
        report.add(f"  ratio in-process {name} / python", ratio(seconds, bare), "x")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
