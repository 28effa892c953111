"""The local deployer with real processes under a real supervisord."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import WORKLOAD_PYTHON

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    HttpProbe,
    Probe,
    RenderedContainer,
    RenderedFile,
    RenderedVolume,
    RenderedWorkload,
    ResourceContext,
    ResourceError,
    Secret,
    ServicePort,
)
from podium_local.deploy.deployer import LocalDeployer
from podium_local.deploy.layout import WorkloadDir
from podium_local.network import port_is_listening, wait_until
from podium_local.provisioners.basic import VolumeProvisioner
from podium_local.servers.supervisord import Supervisor
from podium_local.settings import Settings

PLANTED = "planted-secret-8c1f5e"

# A tiny web server: /health answers 200 unless $HEALTH is "fail"; / shows the environment.
SERVER = textwrap.dedent(
    """
    import hashlib, json, os, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/health" and os.environ.get("HEALTH") == "fail":
                self.send_response(500); self.end_headers(); return
            body = json.dumps({"greeting": os.environ.get("GREETING"), "pid": os.getpid(),
                               "secret_ok": hashlib.sha256(os.environ.get("API_TOKEN", "").encode()).hexdigest() == sys.argv[1],
                               "root": os.environ["PODIUM_ROOT"], "cwd": os.getcwd()}).encode()
            self.send_response(200); self.end_headers(); self.wfile.write(body)
        def log_message(self, *a): pass
    print("serving", flush=True)
    HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
    """
)

SETTINGS = Settings(readiness_timeout=20, restart_backoff=0.2, stop_timeout=5)


def web(greeting: str = "hello", health: str = "ok", **extra: object) -> RenderedWorkload:
    container = RenderedContainer(
        name="main",
        image="python:3.11",
        command=[WORKLOAD_PYTHON, "-c", SERVER, hashlib.sha256(PLANTED.encode()).hexdigest()],
        variables={"GREETING": greeting, "HEALTH": health, "API_TOKEN": Secret(PLANTED)},
        readiness_probe=Probe(http_get=HttpProbe(port=8080, path="/health")),
        **extra,  # type: ignore[arg-type]
    )
    return RenderedWorkload(
        name="web",
        containers={"main": container},
        ports={"http": ServicePort(port=8080, target_port=8080)},
    )


def get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture
def deployer() -> LocalDeployer:
    return LocalDeployer(SETTINGS)


def ctx_for(env: EnvironmentInfo, workload: str = "web", release: int = 1) -> DeployContext:
    return DeployContext(workload=workload, env=env, release=release)


def test_deploy_status_logs_redeploy_destroy(deployer: LocalDeployer, env: EnvironmentInfo) -> None:
    ctx = ctx_for(env)
    assert deployer.status(ctx).state == "absent"
    result = deployer.deploy(ctx, web())
    url = result.urls[0]
    body = get(url)
    assert body["greeting"] == "hello" and body["secret_ok"] is True
    status = deployer.status(ctx)
    assert status.state == "ready" and status.urls == [url]
    assert "serving" in [line.text for line in deployer.logs(ctx, container="main")]

    # The secret reached the process but was never written to disk in plaintext.
    for path in env.state_dir.parent.rglob("*"):
        if path.is_file():
            assert PLANTED.encode() not in path.read_bytes(), path

    # Same spec: the process keeps running. Changed variable: it restarts.
    pid = body["pid"]
    deployer.deploy(ctx_for(env, release=2), web())
    assert get(url)["pid"] == pid
    deployer.deploy(ctx_for(env, release=3), web(greeting="bonjour"))
    changed = get(url)
    assert changed["greeting"] == "bonjour" and changed["pid"] != pid

    # A later invocation (a fresh process) sees the same workload.
    script = (
        "import sys, json; from pathlib import Path\n"
        "from podium.platform.context import EnvironmentInfo\n"
        "from podium.deployment.contract import DeployContext\n"
        "from podium_local.deploy.deployer import LocalDeployer\n"
        f"env = EnvironmentInfo('t', 'dev', Path({str(env.state_dir)!r}))\n"
        "print(LocalDeployer().status(DeployContext('web', env)).state)\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert fresh.stdout.strip() == "ready"

    port = int(url.rsplit(":", 1)[1])
    deployer.destroy(ctx)
    assert deployer.status(ctx).state == "absent"
    assert not port_is_listening(port)
    assert not (env.state_dir / "local" / "workloads" / "web").exists()
    assert not (env.state_dir / "local" / "supervisor").exists()
    deployer.destroy(ctx)  # destroying what is gone succeeds


def test_crashed_process_is_restarted(deployer: LocalDeployer, env: EnvironmentInfo) -> None:
    ctx = ctx_for(env)
    url = deployer.deploy(ctx, web()).urls[0]
    pid = int(get(url)["pid"])  # type: ignore[arg-type]
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        try:
            return int(get(url)["pid"]) != pid  # type: ignore[arg-type]
        except OSError:
            return False

    assert wait_until(restarted, 30)
    assert wait_until(lambda: deployer.status(ctx).state == "ready", 30)
    assert deployer.status(ctx).containers["main"].restarts >= 1
    deployer.destroy(ctx)


def test_failing_readiness_probe_fails_deploy_and_reports_down(
    deployer: LocalDeployer, env: EnvironmentInfo
) -> None:
    ctx = ctx_for(env)
    quick = LocalDeployer(Settings(readiness_timeout=3))
    with pytest.raises(ResourceError) as caught:
        quick.deploy(ctx, web(health="fail"))
    assert "/health returned 500" in str(caught.value)
    status = deployer.status(ctx)
    assert status.state == "down"
    assert "returned 500" in status.containers["main"].message
    deployer.destroy(ctx)


def test_container_without_command_is_a_clear_error(
    deployer: LocalDeployer, env: EnvironmentInfo
) -> None:
    workload = RenderedWorkload(
        name="bad", containers={"c": RenderedContainer(name="c", image="nginx")}
    )
    with pytest.raises(ResourceError, match="no command"):
        deployer.deploy(ctx_for(env, "bad"), workload)


def test_before_files_volumes_and_exec_probe(
    deployer: LocalDeployer, env: EnvironmentInfo, make_ctx: Callable[..., ResourceContext]
) -> None:
    # A volume from the volume provisioner: as root it is where the workload's user can reach it.
    volume_ctx = make_ctx("volume", "data")
    volume_dir = Path(VolumeProvisioner().create(volume_ctx)["source"])
    init = RenderedContainer(
        name="init",
        image="busybox",
        command=[
            WORKLOAD_PYTHON,
            "-c",
            "import os, pathlib; pathlib.Path(os.environ['PODIUM_ROOT'], 'data', 'seed').write_text('seeded')",
        ],
        volumes=[RenderedVolume(target="/data", source={"source": str(volume_dir)})],
    )
    main = RenderedContainer(
        name="main",
        image="busybox",
        command=[WORKLOAD_PYTHON, "-c", "import time\nwhile True: time.sleep(1)"],
        files=[
            RenderedFile(target="/etc/app/config.ini", content="[app]\nmode=test\n", mode="0640"),
            RenderedFile(target="/etc/app/token", content=Secret(PLANTED + "-file")),
        ],
        volumes=[RenderedVolume(target="/data", source={"source": str(volume_dir)})],
        before={"init": "complete"},
        readiness_probe=Probe(exec_command=["test", "-f", "data/seed"]),
    )
    # The exec probe runs in the container's working directory: give it the root.
    workload = RenderedWorkload(name="jobs", containers={"main": main, "init": init})
    ctx = ctx_for(env, "jobs")
    deployer.deploy(ctx, workload)
    root = WorkloadDir(env, "jobs").root("main")
    assert (volume_dir / "seed").read_text() == "seeded"
    config = root / "etc" / "app" / "config.ini"
    assert config.read_text() == "[app]\nmode=test\n" and (config.stat().st_mode & 0o777) == 0o640
    token = root / "etc" / "app" / "token"
    assert token.stat().st_mode & 0o777 == 0o600
    assert deployer.status(ctx).state == "ready"
    deployer.destroy(ctx)
    assert not root.exists()
    VolumeProvisioner().delete(volume_ctx)


def test_supervisord_is_shared_and_stops_with_the_last_workload(
    deployer: LocalDeployer, env: EnvironmentInfo
) -> None:
    first = deployer.deploy(ctx_for(env, "web"), web())
    second = RenderedWorkload(
        name="other",
        containers={
            "main": RenderedContainer(
                name="main",
                image="x",
                command=[WORKLOAD_PYTHON, "-c", "import time\nwhile True: time.sleep(1)"],
            )
        },
    )
    deployer.deploy(ctx_for(env, "other"), second)
    supervisor = Supervisor(env, SETTINGS)
    deployer.destroy(ctx_for(env, "web"))
    assert supervisor.is_running(), "another workload still runs"
    assert not port_is_listening(int(first.urls[0].rsplit(":", 1)[1]))
    deployer.destroy(ctx_for(env, "other"))
    assert not supervisor.is_running()
