"""Plan latency through ``podium serve`` against the same plan through the Python API.

One platform directory (the engine tests' fake plugin, a workload with two resources)
is planned N times by :meth:`podium.Platform.plan` in this process and N times by
``POST /api/v1/environments/dev/plans`` on a real ``podium serve`` process over the
same state, alternating so both see the same machine. The API's figure includes HTTP,
authentication, Score parsing, the plan's JSON and its record in the server store.
Target: API p95 at most 1.5x the Python API's p95. A third series, the same request
without a token (401), shows what HTTP alone costs here: 0.27-0.5 ms of the
difference, on a plan of 0.5-1.3 ms (the machine's noise moves both together).

The target is not met on this machine (1.7-2.0x). The round trip of a request the
server refuses without planning is already 0.4-0.6 of the plan, and the server's own
steps add about half as much again: timed inside the server (checkpoints around each
step of a plan request, 1,100 requests), the credential check, reading the body, the
plan's JSON and id, its record in the store and the answer took 0.56 ms against the
1.14 ms of Score parsing and planning that both paths share. The rows "API minus Python
API" and "HTTP round trip alone / Python API plan" show this run by run.

Run: python benchmarks/bench_serve.py [samples]
"""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from _common import Report, ratio, tests_helper

#: The engine tests' fake plugin, installed as they install it, and their workload.
FAKE_SITE = tests_helper("engine/fake_site")
CONFIG = """\
[platform]
name = "benchserve"

[plugins]
allow = ["fake"]

[environments.dev]
deployer = "fake-deployer"

[[rules]]
type = "volume"
provisioner = "fake-dir"
"""
SCORE = FAKE_SITE.web_score(password=False)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def make_project(root: Path) -> Path:
    site: Path = FAKE_SITE.install_fake_plugin(root / "site")
    (root / "podium.toml").write_text(CONFIG)
    return site


def start_server(root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, Path]:
    log = root / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "podium", "serve", "--port", "0"],
        cwd=root,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if "listening on " in line:
                return process, line.split("listening on ", 1)[1].strip(), log
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"podium serve did not start:\n{log.read_text()}")


def main() -> int:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    report = Report("serve")
    try:
        import fastapi  # noqa: F401
    except ImportError:
        report.check("podium[serve] installed", False, "pip install 'podium[serve]'")
        return report.finish()
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    site = make_project(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "FAKE_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env["PODIUM_ACTOR"] = "bench@serve"
    sys.path.insert(0, str(site))
    from podium import Platform
    from podium.workload.loader import load_workload_text

    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "podium",
            "tokens",
            "create",
            "--team",
            "bench",
            "--role",
            "developer",
        ],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    process, url, _log = start_server(root, env)
    try:
        platform = Platform.from_file(root / "podium.toml", environ=env)
        # The standard library's client, on one kept-alive connection: what is measured
        # is the server's share, not a client library's (httpx adds ~1 ms per call).
        address = urlsplit(url)
        client = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"}
        body = SCORE.encode()

        def python_plan() -> None:
            workload = load_workload_text(SCORE, "<api:bench>")
            platform.plan("dev", [workload], owner="bench").to_dict()

        def api_plan() -> None:
            client.request("POST", f"{address.path}/environments/dev/plans", body, headers)
            answer = client.getresponse()
            text = answer.read()
            if answer.status != 201:
                raise RuntimeError(f"plan through the API: {answer.status} {text[:300]!r}")

        def refused_plan() -> None:
            # No token: HTTP both ways, the middleware and a 401, but no plan. What the
            # transport alone costs, for reading the API's figures.
            client.request("POST", f"{address.path}/environments/dev/plans", body)
            answer = client.getresponse()
            answer.read()
            if answer.status != 401:
                raise RuntimeError(f"plan without a token: {answer.status}")

        for _ in range(20):  # warm both paths (imports, connections, caches)
            python_plan()
            api_plan()
            refused_plan()
        direct: list[float] = []
        served: list[float] = []
        floor: list[float] = []
        for _ in range(samples):
            for call, times in ((python_plan, direct), (api_plan, served), (refused_plan, floor)):
                started = time.perf_counter()
                call()
                times.append(time.perf_counter() - started)
        client.close()
        platform.close()
    finally:
        process.terminate()
        process.wait(timeout=60)
    report.add(f"samples per path: {samples}", samples, "")
    report.add("Python API plan p50", statistics.median(direct) * 1000, "ms")
    report.add("Python API plan p95", percentile(direct, 0.95) * 1000, "ms")
    report.add("API plan p50", statistics.median(served) * 1000, "ms")
    report.add("API plan p95", percentile(served, 0.95) * 1000, "ms")
    report.add("HTTP round trip alone (401, no plan) p50", statistics.median(floor) * 1000, "ms")
    # What the API adds, in absolute terms, and how much of the ratio's budget HTTP alone
    # takes: with a plan of about half a millisecond, a round trip the server refuses at
    # once already costs about half of the plan, which leaves the server almost nothing.
    report.add(
        "API minus Python API, p50 (what the API adds)",
        (statistics.median(served) - statistics.median(direct)) * 1000,
        "ms",
    )
    report.add(
        "HTTP round trip alone / Python API plan (p50)",
        ratio(statistics.median(floor), statistics.median(direct)),
        "x",
    )
    report.add(
        "API p50 -> ratio to Python API p50",
        ratio(statistics.median(served), statistics.median(direct)),
        "x",
    )
    report.add(
        "API p95 -> ratio to Python API p95",
        ratio(percentile(served, 0.95), percentile(direct, 0.95)),
        "x",
        at_most=1.5,
    )
    shutil.rmtree(root, ignore_errors=True)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
