"""The shop example through podium's API and CLI, with every real server.

up -> HTTP through the app -> change a variable -> re-apply restarts only what
changed -> rollback -> destroy leaves no process, port, database or directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import usable_by_others

from podium_local.isolation import runtime_dir
from podium_local.network import port_is_listening, wait_until
from podium_local.servers.supervisord import Supervisor
from podium_local.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/health", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def pid_of(platform: Any, workload: str, container: str) -> int:
    info = Supervisor(platform.environment("dev"), Settings()).info(f"{workload}__{container}")
    assert info is not None
    return int(info["pid"])


@pytest.fixture
def shop() -> Iterator[Path]:
    # As root the apps run as the environment's own user, who must reach the app files:
    # a directory other users may traverse (pytest's tmp_path is private to root).
    base = Path(tempfile.mkdtemp(prefix="podium-shop-", dir="/var/tmp"))
    base.chmod(0o755)
    target = base / "shop"
    shutil.copytree(EXAMPLES / "shop", target)
    if os.geteuid() == 0 and not usable_by_others(sys.executable):
        # This Python (with the shop's drivers) lives where other users cannot run it,
        # e.g. pyenv under /root: the documented single-tenant setting is the way out.
        with (target / "podium.toml").open("a") as config:
            config.write('\n[plugins.local]\nworkload_user = "root"\n')
    yield target
    shutil.rmtree(base, ignore_errors=True)


def test_shop_lifecycle(shop: Path) -> None:
    from conftest import stop_everything

    from podium.plugin import Platform

    platform = Platform.from_file(shop / "podium.toml")
    env = platform.environment("dev")
    files = [shop / "web.score.yaml", shop / "worker.score.yaml"]
    try:
        _, result = platform.up("dev", files)
        assert not [r for r in result.results if r.status != "succeeded"], result
        statuses = {s.workload: s for s in platform.status("dev")}
        assert statuses["shop-web"].state == "ready" and statuses["shop-worker"].state == "ready"
        url = statuses["shop-web"].urls[0]

        # The app reached both databases: orders from postgres, ticks from redis.
        assert wait_until(lambda: health(url)["orders"] >= 2, 30)
        body = health(url)
        assert body["status"] == "ok" and body["worker_ticks"] >= 2 and body["visits"] >= 1
        web_pid, worker_pid = (
            pid_of(platform, "shop-web", "web"),
            pid_of(platform, "shop-worker", "worker"),
        )

        # Change one variable of one workload: only that workload restarts.
        score = shop / "web.score.yaml"
        score.write_text(score.read_text().replace("Welcome to the shop", "Sale today"))
        _, result = platform.up("dev", files)
        changed = {r.uid for r in result.results if r.action != "noop"}
        assert "deployment:shop-web" in changed and "deployment:shop-worker" not in changed
        assert health(url)["greeting"] == "Sale today"
        assert pid_of(platform, "shop-web", "web") != web_pid
        assert pid_of(platform, "shop-worker", "worker") == worker_pid

        # Logs from the deployer's files.
        lines = [line.text for line in platform.logs("dev", "shop-worker", tail=50)]
        assert "shop-worker started" in lines

        # Rollback returns to the previous release.
        platform.rollback("dev", "shop-web")
        assert health(url)["greeting"] == "Welcome to the shop"

        ports = [int(url.rsplit(":", 1)[1])]
        outputs = platform.outputs("dev")
        ports += [int(v["port"]) for k, v in outputs.items() if k.startswith(("postgres", "redis"))]
        supervisord_pid = int(
            (env.state_dir / "local" / "supervisor" / "supervisord.pid").read_text()
        )
        cluster_base = Path(
            json.loads((env.state_dir / "local" / "postgres" / "cluster.json").read_text())["base"]
        )
        platform.destroy("dev")
        assert not cluster_base.exists()

        assert platform.status("dev") == []
        for port in ports:
            assert not port_is_listening(port), port
        for pid in (supervisord_pid, web_pid, worker_pid):
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
            )
        assert not runtime_dir(env).exists() or runtime_dir(env) == env.state_dir / "local"
        local = env.state_dir / "local"
        for name in (
            "workloads/shop-web",
            "workloads/shop-worker",
            "postgres",
            "redis",
            "supervisor",
        ):
            assert not (local / name).exists(), name
    finally:
        platform.close()
        stop_everything(env)


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )


FAILING = """\
apiVersion: score.dev/v1b1
metadata:
  name: sad
containers:
  main:
    image: python:3.11
    command: ["python3", "-m", "http.server", "--bind", "127.0.0.1"]
    args: ["$PORT"]
    readinessProbe:
      httpGet:
        port: 8000
        path: /definitely-missing
service:
  ports:
    http:
      port: 8000
"""


def test_cli_failing_readiness_exits_non_zero_with_probe_message(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(
        '[platform]\nname = "sad"\n[plugins]\nallow = ["local"]\n'
        "[plugins.local]\nreadiness_timeout = 3\n"
        '[environments.dev]\ndeployer = "local"\n'
    )
    # http.server takes the port as an argument; a shell turns $PORT into it.
    (tmp_path / "score.yaml").write_text(
        FAILING.replace(
            'command: ["python3", "-m", "http.server", "--bind", "127.0.0.1"]\n    args: ["$PORT"]',
            'command: ["sh", "-c", "exec python3 -m http.server --bind 127.0.0.1 $PORT"]',
        )
    )
    from conftest import stop_everything

    from podium.plugin import EnvironmentInfo

    env = EnvironmentInfo("sad", "dev", tmp_path / ".podium" / "dev")
    try:
        up = run_cli(tmp_path, "up", "-f", "score.yaml")
        assert up.returncode != 0, up.stdout + up.stderr
        assert "/definitely-missing returned 404" in up.stdout + up.stderr
        # The failed deploy is recorded: a later invocation reports it down with the
        # probe's message (exit 10), and destroy removes what the deployer left running.
        listed = run_cli(tmp_path, "--json", "status")
        assert listed.returncode == 10, listed.stdout + listed.stderr
        statuses = (
            json.loads(listed.stdout.split("\n{")[0]) if listed.stdout.startswith("[") else []
        )
        assert statuses and statuses[0]["state"] == "down"
        assert "returned 404" in statuses[0]["message"]
        destroyed = run_cli(tmp_path, "destroy", "--yes")
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
        assert not (env.state_dir / "local" / "supervisor").exists()
    finally:
        stop_everything(env)
