"""podman mode: the rendered objects run for real with ``podman kube play``.

Through the real CLI (up, status, logs, a second release, destroy) and through the
deployment conformance kit. Containers run busybox's httpd on 127.0.0.1 (host network).
"""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import BUSYBOX_IMAGE, Project

from podium.plugin import (
    EnvironmentInfo,
    HttpProbe,
    Probe,
    RenderedContainer,
    RenderedFile,
    RenderedWorkload,
    Secret,
)
from podium.testing.conformance import DeployerConformance
from podium_kubernetes.deployer import KubernetesDeployer
from podium_kubernetes.settings import EnvironmentOptions, Settings

TOKEN = "podman-token-canary-5521"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


CONFIG = """
[platform]
name = "pm"
workloads = ["site.score.yaml"]

[plugins]
allow = ["kubernetes", "local"]

[plugins.kubernetes.environments.dev]
mode = "podman"
images = {{ "busybox:1.36" = "{image}" }}
ready_timeout = 60

[environments.dev]
deployer = "kubernetes"

[[rules]]
type = "secret"
provisioner = "local-secret"
"""

SCORE = """
apiVersion: score.dev/v1b1
metadata:
  name: site
containers:
  web:
    image: busybox:1.36
    command: ["/bin/sh", "-c", "mkdir -p /www && echo \\"$GREETING $TOKEN\\" > /www/index.html && cat /etc/site/motd >> /www/index.html && echo serving on $PORT; trap 'exit 0' TERM; httpd -f -p 127.0.0.1:$PORT -h /www & wait"]
    variables:
      GREETING: "{greeting}"
      PORT: "{port}"
      TOKEN: ${{resources.token.value}}
    files:
      - target: /etc/site/motd
        content: "motd from a ConfigMap"
    readinessProbe:
      httpGet: {{port: {port}, path: /}}
service:
  ports:
    http: {{port: {port}}}
resources:
  token:
    type: secret
    params: {{key: site-token}}
"""


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode())


def test_the_cli_runs_a_workload_in_podman(tmp_path: Path, podman_env: dict[str, str]) -> None:
    port = free_port()
    project = Project(tmp_path / "platform", env=podman_env)
    project.write("podium.toml", CONFIG.format(image=BUSYBOX_IMAGE))
    project.write("site.score.yaml", SCORE.format(greeting="hello", port=port))
    project.ok("secrets", "set", "site-token", stdin=TOKEN)
    try:
        up = project.ok("up", "-e", "dev", "--yes")
        assert f"http://127.0.0.1:{port}" in up.stdout
        body = get(f"http://127.0.0.1:{port}/")
        assert body == f"hello {TOKEN}\nmotd from a ConfigMap"
        status = json.loads(project.ok("--json", "status", "-e", "dev").stdout)
        assert status[0]["state"] == "ready" and status[0]["containers"]["web"]["state"] == "ready"
        logs = project.ok("logs", "-e", "dev", "site").stdout
        assert f"web | serving on {port}" in logs
        assert TOKEN not in project.ok("--json", "outputs", "-e", "dev").stdout
        state_files = [p for p in (project.root / ".podium").rglob("*") if p.is_file()]
        assert all(TOKEN.encode() not in p.read_bytes() for p in state_files)

        project.write("site.score.yaml", SCORE.format(greeting="release two", port=port))
        project.ok("up", "-e", "dev", "--yes")
        assert get(f"http://127.0.0.1:{port}/").startswith(f"release two {TOKEN}")
        pods = subprocess.run(
            ["podman", "pod", "ps", "--format", "{{.Name}}"], capture_output=True, text=True
        ).stdout.split()
        assert len([p for p in pods if p.startswith("pm-dev-")]) == 1  # the release replaced

        project.ok("rollback", "-e", "dev", "site")
        assert get(f"http://127.0.0.1:{port}/").startswith(f"hello {TOKEN}")
    finally:
        project.podium("destroy", "-e", "dev", "--yes")
    status = json.loads(project.podium("--json", "status", "-e", "dev").stdout or "[]")
    assert status == []
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/")


PORT = free_port()


@pytest.mark.usefixtures("podman_env")
class TestPodmanModeConformance(DeployerConformance):
    """The deployment kit against podman mode (busybox httpd instead of the kit's Python
    program: the image has no Python; answers are what the kit checks)."""

    @pytest.fixture
    def deployer(self, podman_env: dict[str, str]) -> KubernetesDeployer:
        options = EnvironmentOptions(
            mode="podman", images={"busybox": BUSYBOX_IMAGE}, ready_timeout=60
        )
        return KubernetesDeployer(Settings(environments={"dev": options}))

    @pytest.fixture
    def rendered_workload(self, kit_workloads: object) -> RenderedWorkload:
        secret = kit_workloads.secret
        assert isinstance(secret, Secret)
        script = (
            "echo release $KIT_RELEASE $KIT_PLAIN; mkdir -p /www; echo ok > /www/index.html; "
            f"trap 'exit 0' TERM; httpd -f -p 127.0.0.1:{PORT} -h /www & wait"
        )
        return RenderedWorkload(
            name="conformance",
            containers={
                "main": RenderedContainer(
                    name="main",
                    image="busybox",
                    command=["/bin/sh", "-c", script],
                    variables={
                        "KIT_PLAIN": "kit plain value",
                        "KIT_SECRET": secret,
                        "KIT_RELEASE": "1",
                    },
                    files=[RenderedFile(target="/etc/kit/secret", content=secret)],
                    readiness_probe=Probe(http_get=HttpProbe(port=PORT)),
                )
            },
        )


def test_podman_mode_refuses_a_cronjob(
    podman_env: dict[str, str], podium_env: EnvironmentInfo
) -> None:
    from podium.plugin import DeployContext, ResourceError

    deployer = KubernetesDeployer(Settings(environments={"dev": EnvironmentOptions(mode="podman")}))
    workload = RenderedWorkload(
        name="nightly",
        annotations={"podium.dev/kind": "CronJob", "podium.dev/schedule": "0 3 * * *"},
        containers={
            "main": RenderedContainer(name="main", image=BUSYBOX_IMAGE, command=["/bin/true"])
        },
    )
    with pytest.raises(ResourceError, match="podman mode runs"):
        deployer.deploy(DeployContext("nightly", podium_env), workload)


def test_podman_mode_restarts_on_liveness_and_applies_limits(
    podman_env: dict[str, str], podium_env: EnvironmentInfo
) -> None:
    """kube play makes the livenessProbe a health check that restarts the container;
    the mode runs it on time (no systemd timers here). Readiness is still probed from
    the host, and the resources are the container's cgroup limits."""
    import time

    from podium.plugin import DeployContext

    port = free_port()
    script = (
        "mkdir -p /www; echo ok > /www/alive; echo ok > /www/index.html; "
        f"trap 'exit 0' TERM; httpd -f -p 127.0.0.1:{port} -h /www & wait"
    )
    workload = RenderedWorkload(
        name="alive",
        containers={
            "web": RenderedContainer(
                name="web",
                image="busybox",
                command=["/bin/sh", "-c", script],
                limits={"cpu": "500m", "memory": "64Mi"},
                liveness_probe=Probe(http_get=HttpProbe(port=port, path="/alive")),
                readiness_probe=Probe(http_get=HttpProbe(port=port, path="/")),
            )
        },
    )
    options = EnvironmentOptions(mode="podman", images={"busybox": BUSYBOX_IMAGE}, ready_timeout=60)
    deployer = KubernetesDeployer(Settings(environments={"dev": options}))
    ctx = DeployContext("alive", podium_env)

    def inspect() -> dict[str, object]:
        pod = deployer.backend(podium_env).pod("alive")  # type: ignore[attr-defined]
        out = subprocess.run(
            ["podman", "inspect", f"{pod}-web"], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout)[0]  # type: ignore[no-any-return]

    backend = deployer.backend(podium_env)
    runner = backend.liveness(backend.pod("alive"))  # type: ignore[attr-defined]
    try:
        deployer.deploy(ctx, workload)
        found = inspect()
        host = found["HostConfig"]
        assert isinstance(host, dict)
        assert host["Memory"] == 64 * 1024 * 1024 and host["NanoCpus"] == 500_000_000
        started = found["State"]["StartedAt"]  # type: ignore[index]
        assert deployer.status(ctx).state == "ready"

        name = f"{deployer.backend(podium_env).pod('alive')}-web"  # type: ignore[attr-defined]
        subprocess.run(["podman", "exec", name, "/bin/busybox", "rm", "/www/alive"], check=True)
        assert deployer.status(ctx).state == "ready"  # readiness does not look at /alive
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if inspect()["State"]["StartedAt"] != started:  # type: ignore[index]
                break
            time.sleep(1)
        else:
            log = runner.log_file.read_text() if runner.log_file.exists() else "(no log)"
            health = inspect()["State"].get("Health")  # type: ignore[attr-defined]
            containers = subprocess.run(
                ["podman", "ps", "-a", "--pod", "--format", "{{.ID}} {{.Names}} {{.Status}}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            pytest.fail(
                "the container was not restarted after its liveness probe failed; "
                f"runner running: {runner.running()}, health: {health}, runner log:\n{log}"
                f"containers:\n{containers}"
            )
        deadline = time.monotonic() + 30
        while deployer.status(ctx).state != "ready" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert deployer.status(ctx).state == "ready"

        # The runner gone (a reboot, a kill): status starts it again; destroy stops it.
        assert runner.running()
        runner.stop()
        deployer.status(ctx)
        assert runner.running()
    finally:
        deployer.destroy(ctx)
    assert not runner.running()
