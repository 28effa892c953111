"""Deployments converge on podium-local, through the real ``podium`` CLI and supervisord.

* after a "reboot" (supervisord, PostgreSQL and redis stopped under Podium's feet)
  ``podium up`` says why it redeploys and brings the shop back;
* a program stopped behind Podium's back is started again by ``podium up``, and
  what a killed supervisord left running is stopped first (it holds the ports);
* a command that cannot start fails ``up`` (exit 6) with its own error, is
  recorded as failed, and is never reported ready; its secrets stay masked;
* a crash-looping process is never "ready" while the launcher waits to restart it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import stop_everything

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    Probe,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    Secret,
)
from podium_local.binaries import postgres_binary
from podium_local.deploy.deployer import LocalDeployer
from podium_local.network import port_is_listening, wait_until
from podium_local.servers.postgres_cluster import PostgresCluster
from podium_local.servers.process import as_user, pid_alive, read_pid, run
from podium_local.servers.redis_server import RedisServer
from podium_local.servers.supervisord import Supervisor
from podium_local.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CANARY = "canary-6d1f0b2e-token"

CONFIG = """\
[platform]
name = "converge"
[plugins]
allow = ["local"]
[plugins.local]
readiness_timeout = 15
# Convergence, not isolation, is under test: the test's Python may live where the
# per-environment workload user cannot run it (pyenv under /root).
workload_user = "root"
[environments.dev]
deployer = "local"
[[rules]]
type = "secret"
provisioner = "local-secret"
"""

SERVER = """\
apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: python:3.11
    command: ["sh", "-c", "exec python3 -m http.server --bind 127.0.0.1 $PORT"]
service:
  ports:
    http:
      port: 8000
"""

BROKEN = """\
apiVersion: score.dev/v1b1
metadata:
  name: broken
containers:
  main:
    image: python:3.11
    command: {command}
"""

# Prints its secret and exits: the deploy's error must show the cause, not the secret.
LEAKY = """\
apiVersion: score.dev/v1b1
metadata:
  name: leaky
containers:
  main:
    image: python:3.11
    command: ["python3", "-c", "import os, sys; sys.exit('bad token: ' + os.environ['TOKEN'])"]
    variables:
      TOKEN: ${resources.token.value}
resources:
  token:
    type: secret
    params:
      key: api-token
"""


def podium(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def statuses(cwd: Path) -> tuple[int, list[dict[str, Any]]]:
    listed = podium(cwd, "--json", "status")
    return listed.returncode, json.loads(listed.stdout)


def simulate_reboot(env: EnvironmentInfo) -> None:
    """Stop what a reboot stops: supervisord (and its programs), PostgreSQL, redis."""
    settings = Settings()
    supervisor_pid = read_pid(Supervisor(env, settings).home / "supervisord.pid")
    assert supervisor_pid is not None
    os.kill(supervisor_pid, signal.SIGTERM)  # what shutdown sends; it stops its programs
    assert wait_until(lambda: not pid_alive(supervisor_pid), 30)
    cluster = PostgresCluster(env, settings)
    data = Path(json.loads((cluster.home / "cluster.json").read_text())["base"]) / "data"
    pg_ctl = postgres_binary("pg_ctl", settings.postgres_bin_dir)
    run(as_user(cluster.user, [pg_ctl, "stop", "-D", str(data), "-m", "fast", "-w"]), "stop")
    redis_pid = read_pid(RedisServer(env, settings).home / "redis.pid")
    assert redis_pid is not None
    os.kill(redis_pid, signal.SIGTERM)
    assert wait_until(lambda: not pid_alive(redis_pid), 30)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "platform"
    root.mkdir()
    (root / "podium.toml").write_text(CONFIG)
    yield root
    stop_everything(EnvironmentInfo("converge", "dev", root / ".podium" / "dev"))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_up_after_a_reboot_brings_the_shop_back(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", shop)
    with (shop / "podium.toml").open("a") as config:  # see CONFIG: convergence, not isolation
        config.write('\n[plugins.local]\nworkload_user = "root"\n')
    env = EnvironmentInfo("shop", "dev", shop / ".podium" / "dev")
    try:
        up = podium(shop, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        url = next(s["urls"][0] for s in statuses(shop)[1] if s["workload"] == "shop-web")
        assert wait_until(lambda: answers(url + "/health") and get(url + "/health")["orders"], 30)
        orders = get(url + "/health")["orders"]

        simulate_reboot(env)
        assert not answers(url + "/health")
        code, listed = statuses(shop)
        assert code == 10 and {s["state"] for s in listed} == {"down"}
        # Without --refresh a plan trusts state (and asks no plugin): nothing to do.
        assert "No changes" in podium(shop, "plan").stdout

        again = podium(shop, "up")
        assert again.returncode == 0, again.stdout + again.stderr
        for workload in ("shop-web", "shop-worker"):
            assert (
                f"deployment:{workload}  [local] deployment down: supervisord is not running"
                in again.stdout
            )
        code, listed = statuses(shop)
        assert code == 0 and {s["state"] for s in listed} == {"ready"}
        # The same database came back: the orders written before the reboot are there.
        assert get(url + "/health")["status"] == "ok"
        assert get(url + "/health")["orders"] >= orders

        # Converged: the next up has nothing to do.
        settled = podium(shop, "up")
        assert settled.returncode == 0 and "No changes" in settled.stdout
    finally:
        stop_everything(env)


def test_a_program_stopped_behind_podiums_back_is_started_again(project: Path) -> None:
    (project / "score.yaml").write_text(SERVER)
    assert podium(project, "up", "-f", "score.yaml").returncode == 0
    url = statuses(project)[1][0]["urls"][0]
    env = EnvironmentInfo("converge", "dev", project / ".podium" / "dev")
    Supervisor(env, Settings()).stop("app__main")
    assert not answers(url)

    code, listed = statuses(project)
    assert code == 10 and listed[0]["state"] == "down" and listed[0]["redeploy"] is True
    refreshed = podium(project, "plan", "--refresh", "-f", "score.yaml")
    assert "deployment down: main: process is STOPPED" in refreshed.stdout

    up = podium(project, "up", "-f", "score.yaml")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "deployment down: main: process is STOPPED" in up.stdout
    assert answers(url)
    assert statuses(project)[1][0]["state"] == "ready"


def kill_supervisord(env: EnvironmentInfo) -> int:
    """SIGKILL supervisord (a crash, the OOM killer): its programs keep running, orphaned.

    Returns the pid of the app's process, which still holds the app's port.
    """
    supervisor = Supervisor(env, Settings())
    info = supervisor.info("app__main")
    assert info is not None and info["pid"]
    supervisor_pid = read_pid(supervisor.home / "supervisord.pid")
    assert supervisor_pid is not None
    os.kill(supervisor_pid, signal.SIGKILL)
    assert wait_until(lambda: not supervisor.is_running(), 10)
    assert pid_alive(int(info["pid"]))
    return int(info["pid"])


def test_up_after_supervisord_was_killed_replaces_its_orphans(project: Path) -> None:
    (project / "score.yaml").write_text(SERVER)
    assert podium(project, "up", "-f", "score.yaml").returncode == 0
    url = statuses(project)[1][0]["urls"][0]
    env = EnvironmentInfo("converge", "dev", project / ".podium" / "dev")
    orphan = kill_supervisord(env)
    port = int(url.rsplit(":", 1)[1])
    assert port_is_listening(port)  # the orphan holds the port, and nothing supervises it

    up = podium(project, "up", "-f", "score.yaml")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "deployment down: supervisord is not running" in up.stdout
    assert wait_until(lambda: not pid_alive(orphan), 10), "the orphan was stopped"
    assert answers(url)
    info = Supervisor(env, Settings()).info("app__main")
    assert info is not None and info["statename"] == "RUNNING" and info["pid"] != orphan

    # destroy, too, stops what a killed supervisord left behind.
    orphan = kill_supervisord(env)
    destroyed = podium(project, "destroy", "--yes")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert wait_until(lambda: not pid_alive(orphan), 10)
    assert not port_is_listening(port)


@pytest.mark.parametrize(
    "command, cause",
    [
        ('["/nonexistent"]', "cannot run '/nonexistent': No such file or directory"),
        ('["python3", "missing.py"]', "can't open file"),
    ],
)
def test_a_command_that_cannot_start_fails_up(project: Path, command: str, cause: str) -> None:
    (project / "score.yaml").write_text(BROKEN.format(command=command))
    started = time.monotonic()
    up = podium(project, "up", "-f", "score.yaml")
    assert up.returncode == 6, up.stdout + up.stderr
    assert "broken: container main: cannot start" in up.stdout + up.stderr
    assert cause in up.stdout + up.stderr
    assert time.monotonic() - started < 15, "a hopeless start fails at once, not at the timeout"

    # Never "ready": not now, and not later (the program is stopped, not crash-looping).
    for _ in range(3):
        code, listed = statuses(project)
        assert code == 10 and listed[0]["state"] == "down", listed
        assert cause in listed[0]["message"]
        time.sleep(1)
    history = json.loads(podium(project, "--json", "history").stdout)
    assert history[0]["status"] == "failed"
    assert history[0]["changes"][0]["uid"] == "deployment:broken"
    assert cause in history[0]["changes"][0]["message"]
    from podium.plugin import Platform

    with Platform.from_file(project / "podium.toml") as platform:
        assert [r["status"] for r in platform.releases("dev", "broken")] == ["failed"]

    # The next up tries again (and fails again, the same way).
    retry = podium(project, "up", "-f", "score.yaml")
    assert retry.returncode == 6 and "failed to deploy; deploy again" in retry.stdout
    assert podium(project, "destroy", "--yes").returncode == 0


def test_a_start_failure_shows_the_cause_but_never_the_secret(project: Path) -> None:
    stored = podium(project, "secrets", "set", "api-token", stdin=CANARY)
    assert stored.returncode == 0, stored.stderr
    (project / "score.yaml").write_text(LEAKY)
    up = podium(project, "up", "-f", "score.yaml")
    assert up.returncode == 6, up.stdout + up.stderr
    assert "cannot start" in up.stdout and "bad token: (sensitive)" in up.stdout + up.stderr
    assert CANARY not in up.stdout + up.stderr
    listed = podium(project, "--json", "status")
    assert "bad token: (sensitive)" in listed.stdout and CANARY not in listed.stdout
    assert CANARY not in podium(project, "--json", "history").stdout
    # Only the app's own log holds what it printed; Podium's files do not.
    logs = project / ".podium" / "dev" / "local" / "workloads" / "leaky" / "logs"
    for path in (project / ".podium").rglob("*"):
        if path.is_file() and logs not in path.parents:
            assert CANARY.encode() not in path.read_bytes(), path


def test_a_crash_looping_process_is_never_ready(tmp_path: Path) -> None:
    """supervisord calls the launcher's wait before a restart RUNNING; status must not."""
    env = EnvironmentInfo("t", "dev", tmp_path / "state" / "dev")
    deployer = LocalDeployer(
        Settings(readiness_timeout=15, restart_backoff=1.0, workload_user="root")
    )  # the flag file is in root's private tmp_path
    flag = tmp_path / "crash"
    loop = RenderedWorkload(
        name="loop",
        containers={
            "main": RenderedContainer(
                name="main",
                image="x",
                command=["sh", "-c", f"test -f {flag} && exit 3; exec sleep 600"],
            )
        },
    )
    ctx = DeployContext(workload="loop", env=env)
    try:
        deployer.deploy(ctx, loop)
        assert deployer.status(ctx).state == "ready"
        flag.touch()
        supervisor = Supervisor(env, deployer.settings)
        info = supervisor.info("loop__main")
        assert info is not None
        os.kill(int(info["pid"]), signal.SIGKILL)
        # Until supervisord reaps the child it still says RUNNING (a loaded machine shows
        # that moment): the claim is about what follows, once the death is known.
        noticed = time.monotonic() + 10
        while time.monotonic() < noticed:
            now = supervisor.info("loop__main") or {}
            if now.get("statename") != "RUNNING" or now.get("pid") != info["pid"]:
                break
            time.sleep(0.02)

        seen_waiting = False
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            status = deployer.status(ctx)
            assert status.state == "down", status
            assert status.redeploy is False  # supervisord restarts it: a deploy changes nothing
            seen_waiting = seen_waiting or "restarting after" in status.message
            time.sleep(0.1)
        assert seen_waiting, "the launcher's backoff wait was observed"
        assert deployer.status(ctx).containers["main"].restarts >= 2
    finally:
        deployer.destroy(ctx)
        stop_everything(env)


def test_a_probe_that_echoes_a_secret_is_masked(tmp_path: Path) -> None:
    env = EnvironmentInfo("t", "dev", tmp_path / "state" / "dev")
    deployer = LocalDeployer(Settings(readiness_timeout=2))
    workload = RenderedWorkload(
        name="echo",
        containers={
            "main": RenderedContainer(
                name="main",
                image="x",
                command=["sleep", "600"],
                variables={"TOKEN": Secret(CANARY)},
                readiness_probe=Probe(exec_command=["sh", "-c", "echo denied $TOKEN; exit 1"]),
            )
        },
    )
    ctx = DeployContext(workload="echo", env=env)
    try:
        with pytest.raises(ResourceError) as caught:
            deployer.deploy(ctx, workload)
        assert "exited 1: denied (sensitive)" in str(caught.value)
        assert CANARY not in str(caught.value)
        assert CANARY not in deployer.status(ctx).model_dump_json()
    finally:
        deployer.destroy(ctx)
        stop_everything(env)
