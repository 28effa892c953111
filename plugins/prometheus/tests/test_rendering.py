"""What the plugin renders for a workload, checked by the real promtool, and a server it
does not own (external mode) reloaded through its lifecycle endpoint."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from podium.plugin import DeploymentResult, EnvironmentInfo, RenderedWorkload, ResourceError
from podium_prometheus.monitor import EnvironmentMonitor
from podium_prometheus.monitoring import MonitoringError, read_monitoring
from podium_prometheus.settings import Settings

pytestmark = pytest.mark.prometheus


def workload(name: str, annotations: dict[str, str], ports: tuple[str, ...] = ("http",)) -> Any:
    return RenderedWorkload(
        name=name,
        containers={},
        annotations=annotations,
        ports={p: {"port": 8080 + i, "target_port": 8080 + i} for i, p in enumerate(ports)},
    )


def deployed(ports: dict[str, int]) -> DeploymentResult:
    urls = [f"http://127.0.0.1:{p}" for p in ports.values()]
    return DeploymentResult(outputs={"host": "127.0.0.1", "ports": ports}, urls=urls)


def env(tmp_path: Path) -> EnvironmentInfo:
    return EnvironmentInfo(platform="p", environment="dev", state_dir=tmp_path / "state")


# 99.9: every case; 95: too large a budget for a 14.4x burn; 50: for a 4.5x burn too.
@pytest.mark.parametrize("slo", ["99.9", "95", "50"])
def test_slo_rules_pass_promtool_and_their_own_unit_tests(tmp_path: Path, slo: str) -> None:
    monitor = EnvironmentMonitor(env(tmp_path), Settings(mode="render"))
    config = monitor.configure(workload("api", {"podium.dev/slo": slo}), deployed({"http": 9}))
    rules = yaml.safe_load(Path(config.outputs["rules"]).read_text())
    alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert alerts == [
        "PodiumWorkloadDown",
        "PodiumSLOErrorBudgetBurnFast",
        "PodiumSLOErrorBudgetBurnSlow",
    ]
    tests = yaml.safe_load(Path(config.outputs["rule_tests"]).read_text())["tests"]
    # A budget too large to burn 14.4x (or 4.5x) as fast has no case that cannot happen.
    budget = 1 - float(slo) / 100
    assert any("fast burn" in t["name"] for t in tests) == (14.4 * budget < 1)
    assert any("slow burn only" in t["name"] for t in tests) == (4.5 * budget < 1)
    # configure() already ran them; run them again, as an operator would.
    rules_dir = Path(config.outputs["rules"]).parent
    done = subprocess.run(
        ["promtool", "test", "rules", "api.rules.test.yml"],
        cwd=rules_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_rule_never_reaches_the_live_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium_prometheus import monitor as module

    monitor = EnvironmentMonitor(env(tmp_path), Settings(mode="render"))
    monitor.configure(workload("api", {}), deployed({"http": 9}))
    before = monitor.files.config_file.read_text()

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "up{"}]}]}

    monkeypatch.setattr(module, "rule_groups", broken)
    with pytest.raises(ResourceError, match="promtool"):
        monitor.configure(workload("other", {}), deployed({"http": 10}))
    assert monitor.files.config_file.read_text() == before
    assert monitor.files.workloads() == ["api"]


def test_scrape_job_follows_ports_path_and_outputs(tmp_path: Path) -> None:
    monitor = EnvironmentMonitor(env(tmp_path), Settings(mode="render"))
    annotations = {"podium.dev/metrics-path": "/internal/metrics"}
    config = monitor.configure(
        workload("api", annotations, ports=("http", "metrics")),
        deployed({"http": 7001, "metrics": 7002}),
    )
    job = json.loads(Path(config.outputs["job_file"]).read_text())
    assert job["metrics_path"] == "/internal/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:7002"]  # the `metrics` port
    board = json.loads(Path(config.outputs["dashboard"]).read_text())
    assert [p["title"] for p in board["panels"]] == [
        "Up",
        "Traffic",
        "Errors",
        "Latency",
        "Saturation",
        "Memory",
    ]
    # no service port: rendered, not scraped
    config = monitor.configure(workload("batch", {}, ports=()), DeploymentResult())
    assert config.outputs["targets"] == []
    monitor.remove("api")
    monitor.remove("api")  # twice is fine
    assert monitor.files.workloads() == ["batch"]


@pytest.mark.parametrize(
    ("annotations", "field"),
    [
        ({"podium.dev/slo": "high"}, "podium.dev/slo"),
        ({"podium.dev/slo": "100"}, "podium.dev/slo"),
        ({"podium.dev/metrics-path": "metrics"}, "podium.dev/metrics-path"),
        ({"podium.dev/metrics-path": "/m?x=1"}, "podium.dev/metrics-path"),
        ({"podium.dev/metrics-port": "admin"}, "podium.dev/metrics-port"),
        ({"podium.dev/scrape": "maybe"}, "podium.dev/scrape"),
    ],
)
def test_unusable_annotations_are_refused(annotations: dict[str, str], field: str) -> None:
    with pytest.raises(MonitoringError) as refused:
        read_monitoring("api", annotations, {"http": {}})
    assert refused.value.field == field


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rule_names(url: str) -> set[str]:
    with urllib.request.urlopen(f"{url}/api/v1/rules", timeout=5) as response:
        groups = json.loads(response.read())["data"]["groups"]
    return {g["name"] for g in groups}


def test_external_server_is_reloaded_through_its_endpoint(tmp_path: Path) -> None:
    config_dir = tmp_path / "prometheus-config"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(mode="external", config_dir=str(config_dir), url=url)
    monitor = EnvironmentMonitor(env(tmp_path), settings)
    tree = config_dir / "p-dev"
    # The operator's server reads the tree the plugin writes.
    monitor.files.base.mkdir(parents=True)
    monitor.files.config_file.write_text(yaml.safe_dump(monitor.files.main_config([])))
    (tree / "rules").mkdir()
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tree / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        config = monitor.configure(workload("api", {"podium.dev/slo": "99.9"}), deployed({}))
        assert config.outputs["prometheus"] == url
        assert _rule_names(url) == {"podium-api-availability", "podium-api-slo"}
        monitor.remove("api")
        assert _rule_names(url) == set()
    finally:
        server.terminate()
        server.wait(timeout=30)
