"""What ``podium up`` of the shop on podium-podman costs against starting the containers by hand.

The shop (examples/shop/podium.containers.toml: web + worker in containers of the test
image, PostgreSQL and redis from podium-local) is brought up once, so the databases are
provisioned. Then, each round, its containers are removed and brought back two ways:

* ``podium up`` as a developer at a terminal runs it: by the warm process
  (``PODIUM_WARM=1``, see podium.cli.warm; a terminal turns it on by itself), a fresh
  process forked from one that has imported Podium: config, plugins, plan with a status
  refresh, both deploys with their Podman secrets, readiness;
* the physical baseline: a shell script that runs the same two containers with
  ``podman run`` (host network, the same variables, passed in plain) and waits for the
  same readiness (web's /health answers, the worker's ``--check`` passes in the
  container).

Target: ``podium up`` at most 1.5x the script (median of the rounds). Also shown: the
same ``podium up`` in-process (``PODIUM_WARM=0``: scripts and CI, which import Podium
first), and a ``podium up`` with nothing to change (the CLI's start, config, plugins,
plan and status refresh), the fixed cost every ``podium up`` pays before deploying.

Run: python benchmarks/bench_podman.py [rounds]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Report, ratio, stop_warm_processes, wait_for_warm_process

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "podium.containers.toml"

BASELINE = r"""
set -euo pipefail
podman rm -f -i -t 0 bench-web bench-worker >/dev/null
podman run -d --name bench-web --network host --env-file "$1" -e PORT="$3" \
  "$2" python3 -u app/web.py >/dev/null
podman run -d --name bench-worker --network host --env-file "$1" \
  "$2" python3 -u app/worker.py >/dev/null
until python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$3/health', timeout=2)" 2>/dev/null; do sleep 0.1; done
until podman exec bench-worker python3 app/worker.py --check >/dev/null 2>&1; do sleep 0.1; done
"""


PODIUM = [sys.executable, "-m", "podium", "-c", CONFIG]


def podium(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*PODIUM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PODIUM_WARM": "0", **env},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"podium {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def remove_containers(names: list[str]) -> None:
    subprocess.run(["podman", "rm", "-f", "-i", "-t", "0", *names], capture_output=True, check=True)


def variables(outputs: dict[str, Any]) -> dict[str, str]:
    """The shop's variables, as its Score files expand them (from the resources' outputs)."""
    db = next(v for k, v in outputs.items() if k.startswith("postgres"))
    cache = next(v for k, v in outputs.items() if k.startswith("redis"))
    return {
        "GREETING": "Welcome to the shop",
        "INTERVAL_SECONDS": "1",
        "DB_HOST": str(db["host"]),
        "DB_PORT": str(db["port"]),
        "DB_NAME": str(db["name"]),
        "DB_USER": str(db["username"]),
        "DB_PASSWORD": str(db["password"]),
        "REDIS_HOST": str(cache["host"]),
        "REDIS_PORT": str(cache["port"]),
        "REDIS_USER": str(cache["username"]),
        "REDIS_PASSWORD": str(cache["password"]),
        "REDIS_KEY_PREFIX": str(cache["key_prefix"]),
    }


def timed(func: Any) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    report = Report("podman")
    for binary in ("podman", "runc", "busybox", "mmdebstrap"):
        if not shutil.which(binary):
            report.check(f"{binary} installed", False, "bash scripts/setup-system.sh")
            return report.finish()
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "podman-test-image.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        report.check("test image built", False, built.stderr.strip()[-200:])
        return report.finish()
    image = dict(line.split("=", 1) for line in built.stdout.split())["shop"]

    with tempfile.TemporaryDirectory(prefix="podium-bench-podman-") as tmp:
        shop = Path(tmp) / "shop"
        shutil.copytree(
            ROOT / "examples" / "shop",
            shop,
            ignore=shutil.ignore_patterns(".podium*", "__pycache__"),
        )
        env_file = Path(tmp) / "shop.env"
        runtime = Path(tmp) / "run"  # the warm process's socket directory, this run's own
        runtime.mkdir(mode=0o700)
        try:
            podium(shop, "up")  # provisions PostgreSQL and redis, starts the Podman service
            outputs = json.loads(podium(shop, "--json", "outputs", "--show-secrets").stdout)
            env_file.write_text(
                "".join(f"{k}={v}\n" for k, v in variables(outputs).items()), encoding="utf-8"
            )
            env_file.chmod(0o600)
            port = str(outputs["deployment:shop-web"]["port"])
            containers = [
                *outputs["deployment:shop-web"]["containers"].values(),
                *outputs["deployment:shop-worker"]["containers"].values(),
            ]

            # The same runtime settings as the service podium-podman started (runc, ulimits).
            conf = shop / ".podium-containers" / "dev" / "deployers" / "podman" / "containers.conf"
            script_env = {**os.environ, "CONTAINERS_CONF": str(conf)}

            def baseline() -> None:
                done = subprocess.run(
                    ["bash", "-c", BASELINE, "baseline", str(env_file), image, port],
                    capture_output=True,
                    text=True,
                    env=script_env,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"the baseline script failed: {done.stderr[-500:]}")

            warm = {"PODIUM_WARM": "1", "XDG_RUNTIME_DIR": str(runtime)}
            podium(shop, "status", **warm)  # starts this run's warm process
            wait_for_warm_process(
                [*PODIUM, "status"], shop, {**os.environ, "NO_COLOR": "1", **warm}
            )

            def podium_up() -> None:
                podium(shop, "up", **warm)

            def podium_up_in_process() -> None:
                podium(shop, "up")

            def remove_baseline() -> None:
                subprocess.run(
                    ["podman", "rm", "-f", "-i", "-t", "0", "bench-web", "bench-worker"],
                    capture_output=True,
                    check=False,
                )

            manual, ours, cold, idle = [], [], [], []
            for _ in range(rounds):
                remove_containers(containers)
                manual.append(timed(baseline))
                remove_baseline()
                ours.append(timed(podium_up))
                idle.append(timed(podium_up))  # everything runs: podium's fixed cost
                remove_containers(containers)
                cold.append(timed(podium_up_in_process))
        finally:
            stop_warm_processes(runtime)
            subprocess.run(
                ["podman", "rm", "-f", "-i", "-t", "0", "bench-web", "bench-worker"],
                capture_output=True,
                check=False,
            )
            subprocess.run(
                [sys.executable, "-m", "podium", "-c", CONFIG, "destroy", "--yes"],
                cwd=shop,
                capture_output=True,
                check=False,
            )
    base, cost = statistics.median(manual), statistics.median(ours)
    report.add("script: podman run x2 + readiness (median)", base, "s")
    report.add(
        "podium up on podium-podman, warm process, databases provisioned (median)", cost, "s"
    )
    report.add(
        "podium up in-process (PODIUM_WARM=0: scripts, CI; median)",
        statistics.median(cold),
        "s",
    )
    report.add(
        "podium up with nothing to change (CLI, plan, refresh; median)",
        statistics.median(idle),
        "s",
    )
    fixed = statistics.median(idle)
    report.add(
        "podium up minus its no-op cost -> ratio to the script (informational)",
        ratio(cost - fixed, base),
        "x",
    )
    report.add("podium up -> time ratio to the script", ratio(cost, base), "x", at_most=1.5)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
