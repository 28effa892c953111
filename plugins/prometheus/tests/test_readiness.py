"""Availability from ``up`` and readiness, end to end: the real CLI, podium-local, a real
Prometheus and the readiness exporter beside it.

A tiny app keeps answering ``/metrics`` (so ``up`` stays 1) while its readiness probe
starts failing: the deployer's background health check records it not ready, the
exporter reports ``podium_workload_ready 0``, and the availability alert goes pending,
then firing, with ``up`` still 1. Ready again, it resolves; a dead exporter makes it
fire again (no readiness known) and ``podium status`` says so; destroy stops it all.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from test_shop_monitoring import podium, query, wait_for

from podium.plugin import DeploymentResult, EnvironmentInfo, RenderedWorkload, WorkloadStatus
from podium_prometheus.monitor import EnvironmentMonitor
from podium_prometheus.monitoring import read_monitoring
from podium_prometheus.readiness import Exporter
from podium_prometheus.rules import rule_groups, rule_tests
from podium_prometheus.settings import Settings

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

[telemetry]
jsonl = true

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
    spans = project / ".podium" / "spans.jsonl"
    spans_before = spans.stat().st_size
    (project / "unready").write_text("")
    states: set[str] = wait_for(lambda: alert_states(url) & {"pending", "firing"}, 60)
    assert states, query(url, ready)
    assert value(url, 'up{job="pinger"}') == "1"  # still scraped and up
    assert value(url, ready) == "0"
    assert wait_for(lambda: "firing" in alert_states(url), 30), query(url, "ALERTS")
    assert value(url, 'up{job="pinger"}') == "1"
    # The exporter asked for status every second meanwhile, without Podium's spans.
    assert spans.stat().st_size == spans_before
    status = json.loads(podium(project, "status", "--json", check=False).stdout)[0]
    assert "PodiumWorkloadDown" in status["signals"]["prometheus"]["firing"], status

    # Ready again: the alert resolves.
    (project / "unready").unlink()
    assert wait_for(lambda: not alert_states(url), 60), query(url, "ALERTS")

    # The exporter dies: no readiness is known, and unknown is not ready (fail closed).
    base = project / ".podium" / "dev" / "prometheus"
    exporter = json.loads((base / "readiness.json").read_text())["pid"]
    os.kill(exporter, signal.SIGKILL)
    assert wait_for(lambda: alert_states(url) & {"pending", "firing"}, 60), query(url, ready)
    assert value(url, 'up{job="pinger"}') == "1" and value(url, ready) is None
    # `podium status` says why.
    status = json.loads(podium(project, "status", "--json").stdout)[0]
    assert "not running" in status["signals"]["prometheus"]["message"], status
    assert "readiness exporter is not running" in podium(project, "status").stdout

    # Destroy stops Prometheus and the exporter and removes their directory.
    pids = [
        json.loads((base / name).read_text())["pid"] for name in ("server.json", "readiness.json")
    ]
    podium(project, "destroy", "-y")
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 15)
    assert not base.exists()


def _write_rules(base: Path, readiness_in_rules: bool) -> Path:
    """api's rules (with or without readiness) and the readiness-aware unit tests."""
    monitoring = read_monitoring("api", {"podium.dev/slo": "99.9"}, {"http": {}})
    settings = Settings(availability_for="2m", readiness_max_age="45s")
    groups = rule_groups(monitoring, settings, "dev", readiness=readiness_in_rules)
    tests = rule_tests(monitoring, settings, "dev", "api.rules.yml", readiness=True)
    (base / "api.rules.yml").write_text(yaml.safe_dump(groups, sort_keys=False))
    (base / "api.rules.test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    return base


@pytest.mark.prometheus
def test_readiness_rules_pass_promtool_and_their_tests_need_readiness(tmp_path: Path) -> None:
    base = _write_rules(tmp_path, readiness_in_rules=True)
    names = [t["name"] for t in yaml.safe_load((base / "api.rules.test.yml").read_text())["tests"]]
    assert names[:4] == [
        "api: down when up drops to 0",
        "api: down when not ready while up stays 1",
        "api: down when its readiness goes stale while up stays 1",
        "api: down while no readiness is reported at all, up 1",
    ]
    for args in (("check", "rules", "api.rules.yml"), ("test", "rules", "api.rules.test.yml")):
        done = subprocess.run(
            ["promtool", *args], cwd=base, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr

    # The same cases against availability from up alone fail: they test readiness.
    _write_rules(base, readiness_in_rules=False)
    done = subprocess.run(
        ["promtool", "test", "rules", "api.rules.test.yml"],
        cwd=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "not ready while up stays 1" in out and "goes stale" in out, out
    assert "no readiness is reported" in out, out


class _Platform:
    """Stands in for ``Platform`` to drive the exporter through a failing check."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    def status(self, env: str, *, probe: bool, signals: bool) -> list[WorkloadStatus]:
        assert env == "dev" and probe is False and signals is False
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    def close(self) -> None:
        pass


def test_the_exporter_reports_readiness_and_keeps_stale_answers_on_failure(
    tmp_path: Path,
) -> None:
    config = tmp_path / "podium.toml"
    config.write_text("")
    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    platform = _Platform(
        [
            [
                WorkloadStatus(workload="web", state="ready"),
                WorkloadStatus(workload="worker", state="partial", checked_at=long_ago),
            ],
            RuntimeError("state store unreachable"),
        ]
    )
    exporter = Exporter(
        spec, {"config_path": str(config), "environment": "dev", "period": 1}, lambda _: platform
    )
    exporter.check()

    def samples() -> dict[tuple[str, str], float]:
        return {
            (s.name, s.labels["podium_workload"]): s.value
            for family in text_string_to_metric_families(exporter.text())
            for s in family.samples
        }

    first = samples()
    assert first[("podium_workload_ready", "web")] == 1
    assert first[("podium_workload_ready", "worker")] == 0  # partial is not ready
    assert first[("podium_workload_health_age_seconds", "web")] < 60
    assert first[("podium_workload_health_age_seconds", "worker")] >= 300  # as recorded

    # A failed check keeps the last answers: their age grows until the rules drop them.
    exporter.check()
    assert "state store unreachable" in exporter.last_error
    again = samples()
    assert again[("podium_workload_ready", "web")] == 1
    assert (
        again[("podium_workload_health_age_seconds", "web")]
        >= first[("podium_workload_health_age_seconds", "web")]
    )
    # The environment's monitoring removed: the exporter's loop ends.
    spec.unlink()
    assert not exporter.wanted()


def test_readiness_only_where_the_plugin_runs_prometheus(tmp_path: Path) -> None:
    config = tmp_path / "podium.toml"

    def monitor(settings: Settings, config_path: Path | None = config) -> EnvironmentMonitor:
        env = EnvironmentInfo(
            platform="p", environment="dev", state_dir=tmp_path / "state", config_path=config_path
        )
        return EnvironmentMonitor(env, settings)

    assert monitor(Settings(mode="supervised")).readiness_possible
    assert monitor(Settings()).readiness_possible  # auto: when the targets are local
    assert not monitor(Settings(mode="render")).readiness_possible
    assert not monitor(Settings(mode="supervised", readiness=False)).readiness_possible
    # A platform built from a dict: nothing a background process could open.
    assert not monitor(Settings(mode="supervised"), None).readiness_possible


@pytest.mark.prometheus
def test_rendered_configuration_keeps_availability_from_up(tmp_path: Path) -> None:
    env = EnvironmentInfo(
        platform="p",
        environment="dev",
        state_dir=tmp_path / "state",
        config_path=tmp_path / "podium.toml",
    )
    workload = RenderedWorkload(
        name="api", containers={}, ports={"http": {"port": 8080, "target_port": 8080}}
    )
    deployed = DeploymentResult(outputs={"host": "127.0.0.1", "ports": {"http": 9}})
    config = EnvironmentMonitor(env, Settings(mode="render")).configure(workload, deployed)
    assert config.outputs["readiness"] is False
    rules = Path(config.outputs["rules"]).read_text()
    assert "podium_workload_ready" not in rules and "absent(up" in rules
    assert not (tmp_path / "state" / "prometheus" / "readiness.json").exists()
