"""One workload through every feature: before, files, volumes, a build, probes, restart, rollback.

It runs in real containers: a job container writes to a named volume and completes;
the web container (built from a Containerfile on the test image) starts only then,
reads a plain file, a secret file, a secret variable and a host directory (a volume
resource's output), and answers what it saw over HTTP on the port the deployer chose.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    HttpProbe,
    Probe,
    Release,
    RenderedContainer,
    RenderedFile,
    RenderedVolume,
    RenderedWorkload,
    Secret,
    ServicePort,
)
from podium_podman.deployer import PodmanDeployer
from podium_podman.settings import Settings

SERVER = """\
import hashlib, json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "plain": os.environ.get("PLAIN"),
            "conf": open("/etc/app/conf").read(),
            "token_digest": hashlib.sha256(os.environ["TOKEN"].encode()).hexdigest(),
            "key_digest": digest("/etc/app/key"),
            "job_done": os.path.exists("/shared/done"),
            "host_marker": open("/data/marker").read(),
        }).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

print("web up", flush=True)
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

TOKEN = "token-" + "7" * 24
KEY = "key-" + "9" * 24


def sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def answer(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def workload(
    base: str, context: Path, host_dir: Path, plain: str, token: str = TOKEN
) -> RenderedWorkload:
    job = RenderedContainer(
        name="init",
        image=base,
        command=["python3", "-c", "open('/shared/done', 'w').write('yes')"],
        volumes=[RenderedVolume(target="/shared", source={"source": "shared"})],
    )
    web = RenderedContainer(
        name="web",
        image=".",
        command=["python3", "-u", "/srv/serve.py"],
        variables={"PLAIN": plain, "TOKEN": Secret(token)},
        files=[
            RenderedFile(target="/etc/app/conf", content="colour = blue\n"),
            RenderedFile(target="/etc/app/key", content=Secret(KEY), mode="0400"),
        ],
        volumes=[
            RenderedVolume(target="/shared", source={"source": "shared"}, read_only=True),
            RenderedVolume(target="/data", source={"source": str(host_dir), "path": str(host_dir)}),
        ],
        readiness_probe=Probe(http_get=HttpProbe(port=8080, path="/")),
        before={"init": "complete"},
    )
    return RenderedWorkload(
        name="features",
        containers={"init": job, "web": web},
        ports={"http": ServicePort(port=8080, target_port=8080)},
        extensions={"podium.source_dir": str(context)},
    )


@pytest.mark.slow
def test_every_feature_in_real_containers(
    podman_env: EnvironmentInfo, test_images: dict[str, str], tmp_path: Path
) -> None:
    context = tmp_path / "app"
    context.mkdir()
    (context / "serve.py").write_text(SERVER)
    (context / "Containerfile").write_text(
        f"FROM {test_images['base']}\nCOPY serve.py /srv/serve.py\nWORKDIR /srv\n"
    )
    host_dir = tmp_path / "data"
    host_dir.mkdir()
    (host_dir / "marker").write_text("from the host")
    deployer = PodmanDeployer(Settings(readiness_timeout=60, stop_timeout=1))
    ctx = DeployContext(workload="features", env=podman_env, release=1)
    first = workload(test_images["base"], context, host_dir, "one")
    try:
        result = deployer.deploy(ctx, first)
        url = result.urls[0]
        seen = answer(url)
        assert seen == {
            "plain": "one",
            "conf": "colour = blue\n",
            "token_digest": sha(TOKEN),
            "key_digest": sha(KEY),
            "job_done": True,  # before: init completed first
            "host_marker": "from the host",
        }
        status = deployer.status(ctx)
        assert status.state == "ready", status
        assert status.containers["init"].state == "ready"  # a completed job is not down

        # The secrets reached the container, but inspect and labels do not show them.
        names = result.outputs["containers"]
        inspected = subprocess.run(
            ["podman", "inspect", names["web"], names["init"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert TOKEN not in inspected and KEY not in inspected
        assert "dev.podium.spec" in inspected
        logs = [line.text for line in deployer.logs(ctx, container="web")]
        assert "web up" in logs

        # A new release replaces the web container; a rollback brings release 1 back.
        # (with a new secret value: it reaches the new container, not the old one's).
        second = workload(test_images["base"], context, host_dir, "two", token=TOKEN + "-2")
        deployer.deploy(replace(ctx, release=2), second)
        seen = answer(url)
        assert seen["plain"] == "two" and seen["token_digest"] == sha(TOKEN + "-2")
        back = Release(
            number=1,
            workload=first,
            deployer="podman",
            outputs=dict(result.outputs),
            created_at=datetime.now(UTC),
        )
        deployer.rollback(replace(ctx, release=3), back)
        seen = answer(url)
        assert seen["plain"] == "one" and seen["token_digest"] == sha(TOKEN)

        # Its process killed (a crash, not a stop), Podman restarts it (policy always).
        pid = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.Pid}}", names["web"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        os.kill(int(pid), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = deployer.status(replace(ctx, release=3))
            if status.state == "ready" and status.containers["web"].restarts >= 1:
                break
            time.sleep(0.5)
        assert status.state == "ready" and status.containers["web"].restarts >= 1, status

        deployer.destroy(ctx)
        assert deployer.status(ctx).state == "absent"
        left = subprocess.run(
            ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True
        ).stdout.split()
        assert not set(left).intersection(names.values())
    finally:
        deployer.destroy(ctx)
        scope = deployer._scope(podman_env)
        subprocess.run(["podman", "volume", "rm", "-f", f"{scope}-shared"], capture_output=True)


@pytest.mark.slow
def test_a_container_that_cannot_start_fails_the_deploy_with_its_output_masked(
    podman_env: EnvironmentInfo, test_images: dict[str, str]
) -> None:
    from podium.plugin import ResourceError

    crashing = RenderedWorkload(
        name="crash",
        containers={
            "main": RenderedContainer(
                name="main",
                image=test_images["base"],
                command=[
                    "python3",
                    "-c",
                    "import os, sys; print('boom', os.environ['TOKEN'], flush=True); sys.exit(3)",
                ],
                variables={"TOKEN": Secret(TOKEN)},
            )
        },
    )
    deployer = PodmanDeployer(Settings(readiness_timeout=30, stop_timeout=1))
    ctx = DeployContext(workload="crash", env=podman_env, release=1)
    try:
        with pytest.raises(ResourceError) as failed:
            deployer.deploy(ctx, crashing)
        message = str(failed.value)
        assert "cannot start" in message and "boom" in message, message
        assert TOKEN not in message and "(sensitive)" in message, message
        assert deployer.status(ctx).state == "down"
    finally:
        deployer.destroy(ctx)
