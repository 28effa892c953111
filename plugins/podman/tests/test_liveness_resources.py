"""Liveness restarts a container whose check fails; readiness only reports; limits apply.

A real container (the test image's python3) serves ``/alive`` and ``/ready`` on the
port the deployer chose. Its Score ``livenessProbe`` (an HTTP GET of ``/alive``)
becomes Podman's health check with a restart on failure, run on time by podium-podman's
health timer; its ``readinessProbe`` (a command) stays a readiness check. Breaking
liveness restarts the container (a new start time, counted in ``podium status``);
breaking readiness does not. Its ``resources`` are Podman's cgroup limits.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    HttpProbe,
    Probe,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    ServicePort,
)
from podium_podman.deployer import PodmanDeployer
from podium_podman.settings import Settings

SERVER = """\
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

state = {"alive": True}
open("/tmp/ready", "w").close()

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/break-liveness":
            state["alive"] = False
        elif self.path == "/break-readiness":
            os.remove("/tmp/ready")
        elif self.path == "/mend-readiness":
            open("/tmp/ready", "w").close()
        ok = state["alive"] or self.path != "/alive"
        self.send_response(200 if ok else 500)
        self.end_headers()
        self.wfile.write(b"ok" if ok else b"dead")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def workload(image: str, limits: dict[str, str], requests: dict[str, str]) -> RenderedWorkload:
    web = RenderedContainer(
        name="web",
        image=image,
        command=["python3", "-u", "-c", SERVER],
        limits=limits,
        requests=requests,
        liveness_probe=Probe(http_get=HttpProbe(port=8080, path="/alive")),
        readiness_probe=Probe(exec_command=["test", "-e", "/tmp/ready"]),
    )
    return RenderedWorkload(
        name="alive",
        containers={"web": web},
        ports={"http": ServicePort(port=8080, target_port=8080)},
    )


def get(url: str) -> int:
    """The HTTP status of a GET; 0 while nothing listens (a restart under way)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as failed:
        return int(failed.code)
    except (urllib.error.URLError, ConnectionError):
        return 0


def inspect(name: str) -> dict[str, Any]:
    out = subprocess.run(
        ["podman", "inspect", name], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)[0]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_liveness_restarts_readiness_reports_and_limits_apply(
    podman_env: EnvironmentInfo, test_images: dict[str, str]
) -> None:
    settings = Settings(
        readiness_timeout=60, stop_timeout=1, liveness_interval=1, liveness_retries=2
    )
    deployer = PodmanDeployer(settings)
    ctx = DeployContext(workload="alive", env=podman_env, release=1)
    try:
        result = deployer.deploy(
            ctx, workload(test_images["base"], {"cpu": "500m", "memory": "128Mi"}, {"cpu": "0.25"})
        )
        url = result.urls[0]
        name = result.outputs["containers"]["web"]

        # The limits are the container's cgroup limits, as podman inspect shows them.
        host = inspect(name)["HostConfig"]
        assert host["Memory"] == 128 * 1024 * 1024
        assert host["NanoCpus"] == 500_000_000
        assert host["CpuShares"] == 256
        # The health check is the liveness probe (wget of /alive on the assigned port).
        test = inspect(name)["Config"]["Healthcheck"]["Test"]
        assert test[-1] == f"{url}/alive", test

        status = deployer.status(ctx)
        assert status.state == "ready" and status.containers["web"].restarts == 0, status

        # Readiness failing is reported, and does not restart the container.
        started = inspect(name)["State"]["StartedAt"]
        assert get(f"{url}/break-readiness") == 200
        status = deployer.status(ctx)
        assert status.state == "down" and "readiness probe" in status.message, status
        time.sleep(4 * settings.liveness_interval)  # liveness checks pass meanwhile
        assert inspect(name)["State"]["StartedAt"] == started
        assert get(f"{url}/mend-readiness") == 200
        assert deployer.status(ctx).state == "ready"

        # Liveness failing restarts it: a new start time, the app answers again.
        assert get(f"{url}/break-liveness") == 200 and get(f"{url}/alive") == 500
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if inspect(name)["State"]["StartedAt"] != started and get(f"{url}/alive") == 200:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"not restarted: {inspect(name)['State']}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = deployer.status(ctx)
            if status.state == "ready":
                break
            time.sleep(0.5)
        assert status.state == "ready" and status.containers["web"].restarts >= 1, status
    finally:
        deployer.destroy(ctx)
    assert not deployer._health_timer(podman_env).running()


def test_an_invalid_quantity_fails_the_deploy_naming_the_container(
    podman_env: EnvironmentInfo, test_images: dict[str, str]
) -> None:
    deployer = PodmanDeployer(Settings(stop_timeout=1))
    ctx = DeployContext(workload="alive", env=podman_env, release=1)
    try:
        with pytest.raises(ResourceError) as failed:
            deployer.deploy(ctx, workload(test_images["base"], {"memory": "lots"}, {}))
        assert "alive.containers.web.resources.limits.memory: 'lots'" in str(failed.value)
    finally:
        deployer.destroy(ctx)
