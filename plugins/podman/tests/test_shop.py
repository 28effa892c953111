"""The shop example in real containers, through the podium CLI.

``examples/shop/podium.containers.toml``: the apps run in Podman containers from the
test image (python3, psycopg, redis and the shop's app), PostgreSQL and redis as
podium-local's servers. The web app answers JSON with what it read from both; the
secrets (database and redis passwords) never show in ``podman inspect``, labels,
Podium's state or Podman's secret store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SHOP

from podium.testing import require

CONFIG = "podium.containers.toml"

pytestmark = pytest.mark.slow


def podium(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podium", "-c", CONFIG, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/health", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def eventually(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            return check()
        time.sleep(0.3)


@pytest.fixture
def shop(tmp_path: Path, test_images: dict[str, str]) -> Iterator[Path]:
    require("initdb", "redis-server", search=Path("/usr/lib/postgresql").glob("*/bin"))
    target = tmp_path / "shop"
    shutil.copytree(SHOP, target, ignore=shutil.ignore_patterns(".podium*", "__pycache__"))
    yield target
    podium(target, "destroy", "--yes")


def test_shop_runs_in_containers_and_keeps_secrets_out_of_sight(shop: Path) -> None:
    up = podium(shop, "up")
    assert up.returncode == 0, up.stdout + up.stderr

    listed = podium(shop, "--json", "status")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    statuses = {s["workload"]: s for s in json.loads(listed.stdout)}
    assert statuses["shop-web"]["state"] == "ready", statuses
    assert statuses["shop-worker"]["state"] == "ready", statuses
    url = statuses["shop-web"]["urls"][0]
    assert url.startswith("http://127.0.0.1:")

    # The answer over HTTP: orders from PostgreSQL, the worker's ticks from redis.
    body = eventually(lambda: (b := health(url))["orders"] >= 2 and b)
    assert body and body["status"] == "ok" and body["worker_ticks"] >= 1, body

    # Both really are containers, of the shop's image (the names the deploys returned).
    outputs = json.loads(podium(shop, "--json", "outputs").stdout)
    ids = [
        outputs[f"deployment:{w}"]["containers"][c]
        for w, c in (("shop-web", "web"), ("shop-worker", "worker"))
    ]
    running = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.Running}} {{.ImageName}}", *ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert running == ["true localhost/podium-shop:dev"] * 2, running

    # The passwords reach the apps (they answered) but nothing shows them.
    revealed = podium(shop, "--json", "outputs", "--show-secrets")
    assert revealed.returncode == 0, revealed.stderr
    passwords = _passwords(json.loads(revealed.stdout))
    assert passwords, revealed.stdout
    inspected = subprocess.run(
        ["podman", "inspect", *ids], capture_output=True, text=True, check=True
    ).stdout
    secrets = subprocess.run(
        ["podman", "secret", "ls", "--format", "{{.ID}} {{.Name}} {{.Driver}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    state = _all_bytes(shop / ".podium-containers")
    file_store = _all_bytes(Path("/var/lib/containers/storage/secrets"))
    for password in passwords:
        assert password not in inspected  # labels are part of inspect's output
        assert password.encode() not in state
        assert password.encode() not in file_store
    assert "shell" in secrets

    # Logs through Podman, and destroy removes the containers and their secrets.
    logs = podium(shop, "logs", "shop-worker", "--tail", "20")
    assert logs.returncode == 0 and "shop-worker started" in logs.stdout, logs.stdout + logs.stderr
    down = podium(shop, "destroy", "--yes")
    assert down.returncode == 0, down.stdout + down.stderr
    left = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not set(left).intersection(ids)
    after = subprocess.run(
        ["podman", "secret", "ls", "--format", "{{.Name}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [name for name in after if any(name.startswith(i) for i in ids)]


def _passwords(outputs: Any) -> list[str]:
    found: list[str] = []
    if isinstance(outputs, dict):
        for key, value in outputs.items():
            if key == "password" and isinstance(value, str) and value:
                found.append(value)
            else:
                found += _passwords(value)
    elif isinstance(outputs, list):
        for value in outputs:
            found += _passwords(value)
    return found


def _all_bytes(root: Path) -> bytes:
    if not root.exists():
        return b""
    chunks = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_socket():
            try:
                chunks.append(path.read_bytes())
            except OSError:
                continue
    return b"\n".join(chunks)
