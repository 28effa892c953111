"""Availability from ``up`` and readiness, end to end: the real CLI, podium-local, a real
Prometheus and the readiness exporter beside it.

A tiny app keeps answering ``/metrics`` (so ``up`` stays 1) while its readiness probe
starts failing: the deployer's background health check records it not ready, the
exporter reports ``podium_workload_ready 0``, and the availability alert goes pending,
then firing, with ``up`` still 1. Ready again, it resolves; destroy stops the exporter.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_shop_monitoring import podium, query, wait_for

APP = textwrap.dedent(
    """
    import os
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/ready" and os.path.exists("unready"):
                status, body = 503, b"not ready"
            elif self.path in ("/ready", "/metrics"):
                status, body = 200, b"pinger_requests_total 1\\n"
            else:
                status, body = 404, b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
    """
)

SCORE = """
apiVersion: score.dev/v1b1
metadata:
  name: pinger
containers:
  main:
    image: python:3.11-slim
    command: ["python3", "-u", "app/server.py"]
    readinessProbe:
      httpGet:
        port: 8080
        path: /ready
service:
  ports:
    http:
      port: 8080
"""

CONFIG = """
[platform]
name = "readiness"
workloads = ["pinger.score.yaml"]

[plugins]
allow = ["local", "prometheus"]

[environments.dev]
deployer = "local"

[plugins.prometheus]
scrape_interval = "1s"
evaluation_interval = "1s"
availability_for = "3s"
readiness_period = 1
readiness_max_age = "30s"

[plugins.local]
health_period = 1
probe_timeout = 10
"""


@pytest.fixture
def project() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="podium-prom-ready-", dir="/var/tmp"))
    base.chmod(0o755)  # the app may run as the environment's own user
    (base / "app").mkdir()
    (base / "app" / "server.py").write_text(APP)
    (base / "pinger.score.yaml").write_text(SCORE)
    text = CONFIG + ('workload_user = "root"\n' if os.geteuid() == 0 else "")
    (base / "podium.toml").write_text(text)
    yield base
    if (base / ".podium").exists():
        podium(base, "destroy", "-y", check=False)
    shutil.rmtree(base, ignore_errors=True)


def value(url: str, expr: str) -> str | None:
    found = query(url, expr)
    return str(found[0]["value"][1]) if found else None


def alert_states(url: str) -> set[str]:
    found = query(url, 'ALERTS{alertname="PodiumWorkloadDown",job="pinger"}')
    return {r["metric"]["alertstate"] for r in found}


@pytest.mark.prometheus
def test_a_running_but_unready_workload_is_unavailable(project: Path) -> None:
    podium(project, "up", "-y")
    rows = json.loads(podium(project, "status", "--json").stdout)
    url = rows[0]["signals"]["prometheus"]["prometheus"]
    ready = 'podium_workload_ready{podium_workload="pinger"}'

    # Scraped, up and ready: no availability alert once the first evaluations are past.
    assert wait_for(lambda: value(url, 'up{job="pinger"}') == "1", 15), query(url, "up")
    assert wait_for(lambda: value(url, ready) == "1", 15), query(url, ready)
    assert wait_for(lambda: not alert_states(url), 15), query(url, "ALERTS")
    rules = (project / ".podium" / "dev" / "prometheus" / "rules" / "pinger.rules.yml").read_text()
    assert "podium_workload:ready:min" in rules

    # The readiness probe fails; the process keeps serving /metrics.
    (project / "unready").write_text("")
    states: set[str] = wait_for(lambda: alert_states(url) & {"pending", "firing"}, 60)
    assert states, query(url, ready)
    assert value(url, 'up{job="pinger"}') == "1"  # still scraped and up
    assert value(url, ready) == "0"
    assert wait_for(lambda: "firing" in alert_states(url), 30), query(url, "ALERTS")
    assert value(url, 'up{job="pinger"}') == "1"
    status = json.loads(podium(project, "status", "--json", check=False).stdout)[0]
    assert "PodiumWorkloadDown" in status["signals"]["prometheus"]["firing"], status

    # Ready again: the alert resolves.
    (project / "unready").unlink()
    assert wait_for(lambda: not alert_states(url), 60), query(url, "ALERTS")

    # Destroy stops Prometheus and the exporter and removes their directory.
    base = project / ".podium" / "dev" / "prometheus"
    pids = [
        json.loads((base / name).read_text())["pid"] for name in ("server.json", "readiness.json")
    ]
    podium(project, "destroy", "-y")
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 15)
    assert not base.exists()
