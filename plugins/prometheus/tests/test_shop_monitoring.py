"""The shop example with podium-prometheus, through the real CLI, a real Prometheus and
the shop's real apps exporting metrics with prometheus-client.

up -> both workloads scraped and up -> status shows the signals and request rates ->
an annotation edit is a plan change with a diff, a bad one an error at its line ->
a stopped worker makes its availability alert pending or firing -> destroy stops
Prometheus and removes its files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

SETTINGS = """
[plugins.prometheus]
scrape_interval = "1s"
evaluation_interval = "1s"
availability_for = "3s"
"""


def podium(shop: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    done = subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=shop,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"podium {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def query(url: str, expr: str) -> list[dict[str, Any]]:
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(address, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]["result"]  # type: ignore[no-any-return]


def wait_for(check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def pids_running(script: str, cwd: Path) -> list[int]:
    """Processes running ``app/<script>`` of this shop copy (not another test's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            where = os.readlink(entry / "cwd")
        except OSError:
            continue
        ours = Path(where).resolve() == cwd.resolve()
        if ours and f"app/{script}".encode() in argv and b"--check" not in argv:
            found.append(int(entry.name))
    return found


@pytest.fixture
def shop() -> Iterator[Path]:
    # As root the apps would run as the environment's own user, who cannot run this
    # test's Python (with prometheus-client) from a private tox directory: the
    # documented single-tenant setting runs them as root instead.
    base = Path(tempfile.mkdtemp(prefix="podium-prom-shop-", dir="/var/tmp"))
    base.chmod(0o755)
    target = base / "shop"
    shutil.copytree(EXAMPLES / "shop", target)
    config = target / "podium.toml"
    text = config.read_text().replace('allow = ["local"]', 'allow = ["local", "prometheus"]')
    assert "prometheus" in text
    text += SETTINGS
    # The worker's readiness probe (a Python importing psycopg and redis) can take
    # longer than podium-local's default 2 s on a loaded machine.
    text += "\n[plugins.local]\nprobe_timeout = 10\n"
    if os.geteuid() == 0:
        text += 'workload_user = "root"\n'
    config.write_text(text)
    yield target
    if (target / ".podium").exists():
        podium(target, "destroy", "-y", check=False)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.prometheus
@pytest.mark.shop
def test_shop_is_monitored_by_a_real_prometheus(shop: Path) -> None:
    podium(shop, "up", "-y")
    statuses = {s["workload"]: s for s in json.loads(podium(shop, "status", "--json").stdout)}
    url = statuses["shop-web"]["signals"]["prometheus"]["prometheus"]
    assert url and url.startswith("http://127.0.0.1:")

    # Both workloads scraped and up, from the moment `podium up` returned.
    def both_up() -> bool:
        up = {r["metric"]["job"]: r["value"][1] for r in query(url, "up")}
        return up.get("shop-web") == "1" and up.get("shop-worker") == "1"

    assert wait_for(both_up, 15), query(url, "up")

    # Traffic on the web app shows as a request rate in `podium status`.
    web = statuses["shop-web"]["urls"][0]
    for _ in range(20):
        urllib.request.urlopen(web + "/health", timeout=5).read()

    def signals() -> dict[str, Any]:
        rows = json.loads(podium(shop, "status", "--json").stdout)
        web_row = next(s for s in rows if s["workload"] == "shop-web")
        found: dict[str, Any] = web_row["signals"]["prometheus"]
        return found if found.get("requests_per_second") else {}

    web_signals = wait_for(signals, 30)
    assert web_signals["scraped"] and web_signals["up"], web_signals
    assert web_signals["requests_per_second"] > 0 and web_signals["errors_per_second"] == 0
    text = podium(shop, "status").stdout
    assert "prometheus: scraped, up" in text, text

    # Generated files: promtool-checked rules and tests, and the dashboard, side by side.
    rules = shop / ".podium" / "dev" / "prometheus" / "rules"
    assert {p.name for p in rules.iterdir()} >= {
        "shop-web.rules.yml",
        "shop-web.rules.test.yml",
        "shop-web.dashboard.json",
        "shop-worker.rules.yml",
    }
    board = json.loads((rules / "shop-web.dashboard.json").read_text())
    assert [p["title"] for p in board["panels"]][:3] == ["Up", "Traffic", "Errors"]
    loaded = {r["name"] for g in _rules(url) for r in g["rules"]}
    assert {"PodiumWorkloadDown", "PodiumSLOErrorBudgetBurnFast"} <= loaded

    # An annotation edit is a plan change of the observability node, with its diff.
    score = shop / "web.score.yaml"
    original = score.read_text()
    score.write_text(original.replace('podium.dev/slo: "99.9"', 'podium.dev/slo: "99.5"'))
    plan = json.loads(podium(shop, "plan", "--json").stdout)
    change = next(c for c in plan["changes"] if c["uid"] == "observability:shop-web")
    assert change["action"] == "update", change
    assert any(d["path"] == "telemetry.prometheus.slo" for d in change["diff"]), change
    # ... and an unusable one fails the plan at its file and line.
    score.write_text(original.replace('podium.dev/slo: "99.9"', 'podium.dev/slo: "high"'))
    refused = podium(shop, "plan", check=False)
    assert refused.returncode != 0
    assert "web.score.yaml:" in refused.stderr and "podium.dev/slo" in refused.stderr
    score.write_text(original)

    # A worker that stops answering makes its availability alert pending, then firing.
    workers = pids_running("worker.py", shop)
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:

        def alerting() -> set[str]:
            found = query(url, 'ALERTS{alertname="PodiumWorkloadDown",job="shop-worker"}')
            return {r["metric"]["alertstate"] for r in found}

        states = wait_for(lambda: alerting() & {"pending", "firing"}, 60)
        assert states, query(url, "up")
        assert not query(url, 'ALERTS{alertname="PodiumWorkloadDown",job="shop-web"}')
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)

    # Destroy stops this environment's Prometheus and removes the workloads' files.
    server = json.loads((shop / ".podium" / "dev" / "prometheus" / "server.json").read_text())
    podium(shop, "destroy", "-y")
    assert wait_for(lambda: not Path(f"/proc/{server['pid']}").exists(), 15)
    assert not (shop / ".podium" / "dev" / "prometheus").exists()


def _rules(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v1/rules", timeout=5) as response:
        return json.loads(response.read())["data"]["groups"]  # type: ignore[no-any-return]


def test_the_shop_apps_run_without_prometheus_client() -> None:
    """prometheus-client is optional for the shop: without it nothing is exported, nothing fails."""
    check = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "import metrics\n"
        "assert metrics.exposition() is None and metrics.serve(0) is False\n"
        "metrics.observe('GET', '/health', 200, 0.0); metrics.order_written()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=EXAMPLES / "shop" / "app",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
