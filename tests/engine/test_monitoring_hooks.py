"""Monitoring plugins through the engine: what they will set up is in the plan (with a
diff), they undo it on destroy, ``status`` carries their signals, and the platform
measures its own work as OpenTelemetry metrics on a MeterProvider of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

from podium import hookimpl
from podium.api import Platform
from podium.errors import InputError
from podium.observability.contract import TelemetryConfig


class MonitorSettings(BaseModel):
    threshold: int = 3


class Monitor:
    """A monitoring plugin keeping its 'configuration' in a dict."""

    Settings = MonitorSettings
    PODIUM_API = ">=1.2,<2"

    def __init__(self) -> None:
        self.configured: dict[str, dict[str, Any]] = {}
        self.removed: list[str] = []
        self.settings_seen: list[Any] = []

    @hookimpl
    def podium_telemetry_plan(self, workload: Any, settings: Any) -> dict[str, Any] | None:
        path = workload.annotations.get("example.dev/metrics-path", "/metrics")
        if not path.startswith("/"):
            raise InputError(
                f"metrics path {path!r} must start with /",
                location=workload.location("metadata", "annotations", "example.dev/metrics-path"),
            )
        return {"path": path, "threshold": settings.threshold}

    @hookimpl
    def podium_configure_telemetry(self, workload: Any, settings: Any) -> TelemetryConfig:
        self.settings_seen.append(settings)
        self.configured[workload.name] = {"path": workload.annotations.get("example.dev/x")}
        return TelemetryConfig(provider="dict", description="kept in a dict")

    @hookimpl
    def podium_remove_telemetry(self, workload: str) -> None:
        self.removed.append(workload)
        self.configured.pop(workload, None)

    @hookimpl
    def podium_workload_signals(self, workload: str) -> dict[str, Any] | None:
        if workload not in self.configured:
            return None
        return {"scraped": True, "up": True, "requests_per_second": 1.5}


class BrokenSignals:
    PODIUM_API = ">=1.2,<2"

    @hookimpl
    def podium_workload_signals(self, workload: str) -> dict[str, Any]:
        raise RuntimeError("monitoring backend unreachable")


def annotate(project: Any, path: str) -> None:
    """Set the metrics-path annotation of web (line 5 of web.score.yaml)."""
    score = project.root / "web.score.yaml"
    lines = [
        line
        for line in score.read_text().splitlines(keepends=True)
        if "annotations:" not in line and "example.dev/" not in line
    ]
    at = lines.index("  name: web\n") + 1
    lines[at:at] = ["  annotations:\n", f'    example.dev/metrics-path: "{path}"\n']
    score.write_text("".join(lines))


@pytest.fixture
def monitor() -> Monitor:
    return Monitor()


def platform_for(project: Any, fake_module: Any, *plugins: Any, **kwargs: Any) -> Platform:
    config = project.root / "podium.toml"
    text = config.read_text()
    if "[plugins.monitor]" not in text:
        config.write_text(
            text.replace('allow = ["fake"]', 'allow = ["fake", "monitor", "broken"]')
            + "\n[plugins.monitor]\nthreshold = 5\n"
        )
    return Platform.from_file(
        config, plugins=[("fake", fake_module), *plugins], load_entrypoints=False, **kwargs
    )


def test_the_plan_shows_and_diffs_what_monitoring_sets_up(
    project: Any, fake_module: Any, monitor: Monitor
) -> None:
    annotate(project, "/metrics")
    files = [project.root / "web.score.yaml"]
    with platform_for(project, fake_module, ("monitor", monitor)) as platform:
        plan = platform.plan("dev", files)
        node = plan.change("observability:web")
        # settings reach the broadcast hooks that ask for them
        assert node.spec["telemetry"] == {"monitor": {"path": "/metrics", "threshold": 5}}
        assert platform.apply(plan).ok
        assert isinstance(monitor.settings_seen[0], MonitorSettings)
        assert platform.plan("dev", files).change("observability:web").action == "no-op"

        annotate(project, "/stats")
        change = platform.plan("dev", files).change("observability:web")
        assert change.action == "update"
        assert change.diff == [
            {"path": "telemetry.monitor.path", "before": "/metrics", "after": "/stats"}
        ]

        annotate(project, "stats")
        with pytest.raises(InputError) as refused:
            platform.plan("dev", files)
        assert refused.value.location is not None
        assert refused.value.location.path.endswith("web.score.yaml")
        assert refused.value.location.line == 5


def test_status_carries_signals_and_destroy_removes_monitoring(
    project: Any, fake_module: Any, monitor: Monitor
) -> None:
    files = [project.root / "web.score.yaml"]
    with platform_for(
        project, fake_module, ("monitor", monitor), ("broken", BrokenSignals())
    ) as platform:
        assert platform.up("dev", files)[1].ok
        (status,) = platform.status("dev")
        # the broken plugin is left out, the deployer's answer and the other plugin stay
        assert status.state == "ready"
        assert status.signals == {
            "monitor": {"scraped": True, "up": True, "requests_per_second": 1.5}
        }
        assert platform.destroy("dev")[1].ok
        assert monitor.removed == ["web"] and monitor.configured == {}


def test_a_monitor_without_the_plan_hook_keeps_its_recorded_spec(
    project: Any, fake_module: Any
) -> None:
    class Legacy:
        PODIUM_API = ">=1.0,<2"

        @hookimpl
        def podium_configure_telemetry(self, workload: Any) -> None:
            return None

    files = [project.root / "web.score.yaml"]
    with platform_for(project, fake_module, ("monitor", Legacy())) as platform:
        node = platform.plan("dev", files).change("observability:web")
        assert node.spec == {"workload": "web", "plugins": ["monitor"]}


def test_own_metrics_on_a_meter_provider_of_the_platform(project: Any, fake_module: Any) -> None:
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    files = [project.root / "web.score.yaml"]
    with platform_for(project, fake_module, metric_readers=[reader]) as platform:
        assert platform.up("dev", files)[1].ok
        data = reader.get_metrics_data()
    points: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points.setdefault(metric.name, []).extend(metric.data.data_points)
    (apply,) = points["podium.apply.duration"]
    assert apply.count == 1 and apply.sum > 0
    assert apply.attributes["podium.operation"] == "apply"
    assert apply.attributes["podium.outcome"] == "ok"
    outcomes = {
        (p.attributes["podium.node.kind"], p.attributes["podium.outcome"]): p.value
        for p in points["podium.node.outcomes"]
    }
    assert outcomes[("resource", "succeeded")] == 2
    assert outcomes[("deployment", "succeeded")] == 1
    hooks = {p.attributes["podium.hook"] for p in points["podium.plugin.call.duration"]}
    assert {"fake-deployer.deploy", "fake-dir.create", "podium_deployers"} <= hooks, hooks
    # Nothing was installed process-wide.
    assert not isinstance(metrics.get_meter_provider(), type(platform.meter_provider))


class _Receiver(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.paths.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.paths = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_own_metrics_go_over_otlp_when_configured(
    project: Any, fake_module: Any, receiver: str
) -> None:
    environ = {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": receiver + "/v1/metrics"}
    files = [project.root / "web.score.yaml"]
    with platform_for(project, fake_module, environ=environ) as platform:
        assert platform.up("dev", files)[1].ok
    assert "/v1/metrics" in _Receiver.paths  # flushed when the platform closed


def test_no_meter_provider_without_otlp_or_readers(project: Any, fake_module: Any) -> None:
    with platform_for(project, fake_module, environ={}) as platform:
        assert platform.meter_provider is None
