"""A platform directory with the engine tests' fake plugin, and a real ``podium serve``.

The server runs as a subprocess of the real CLI on a free port; tokens come from the
real ``podium tokens create``. ``Served.call`` is a small httpx client.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from podium.testing import unavailable

HERE = Path(__file__).parent
FAKE = HERE.parent / "engine" / "fake_platform.py"
ENVIRONMENTS = ("dev", "qa", "stage", "perf", "prod")

CONFIG = """\
[platform]
name = "servetest"

[plugins]
allow = ["fake"]

{environments}

[[rules]]
type = "volume"
provisioner = "fake-dir"

[access.prod]
apply = ["admin"]
with_approval = ["developer"]
approvers = ["admin", "developer"]

[access.qa]
apply = ["admin"]

[serve]
queue_timeout = 60
max_body = 65536
{extra}
"""


def score(name: str, greeting: str = "hello", resources: bool = True) -> str:
    text = f"""\
apiVersion: score.dev/v1b1
metadata:
  name: {name}
containers:
  main:
    image: example/{name}:1.0
    variables:
      GREETING: {greeting}
"""
    if resources:
        text = text.replace(
            "      GREETING:", "      TOKEN: ${resources.data.token}\n      GREETING:"
        )
        text += "resources:\n  data:\n    type: volume\n"
    return text


class Project:
    def __init__(self, root: Path, extra_config: str = "") -> None:
        self.root = root
        self.site = root / "site"
        self.site.mkdir(parents=True)
        shutil.copy(FAKE, self.site / "fake_platform.py")
        dist = self.site / "podium_fake-0.1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: podium-fake\nVersion: 0.1.0\n")
        (dist / "entry_points.txt").write_text("[podium.plugins]\nfake = fake_platform\n")
        envs = "\n".join(f'[environments.{e}]\ndeployer = "fake-deployer"\n' for e in ENVIRONMENTS)
        (root / "podium.toml").write_text(CONFIG.format(environments=envs, extra=extra_config))
        #: variables every podium process of this project gets (a database's DSN, say)
        self.extra_env: dict[str, str] = {}

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "PODIUM_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.site), env.get("PYTHONPATH")]))
        env["PODIUM_ACTOR"] = "operator@test"
        env.update(self.extra_env)
        env.update(extra)
        return env

    def podium(
        self, *args: str, check: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"podium {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
            )
        return done

    def token(self, team: str, role: str, *permissions: str) -> str:
        args = ["tokens", "create", "--team", team, "--role", role]
        for p in permissions:
            args += ["--permission", p]
        return self.podium(*args).stdout.strip()


class Served:
    """A running ``podium serve`` process."""

    def __init__(self, project: Project, **extra: str) -> None:
        self.project = project
        self.log = project.root / f"serve-{time.monotonic_ns()}.log"
        self._log = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "podium", "serve", "--port", "0", "-c", "podium.toml"],
            cwd=project.root,
            env=project.env(**extra),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_text()
            for line in text.splitlines():
                if "listening on " in line:
                    base = line.split("listening on ", 1)[1].strip()
                    try:
                        if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                            return base
                    except httpx.HTTPError:
                        pass
            if self.process.poll() is not None:
                raise AssertionError(f"podium serve exited {self.process.returncode}:\n{text}")
            time.sleep(0.1)
        raise AssertionError(f"podium serve did not start:\n{self.log.read_text()}")

    def client(self, token: str | None = None, timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text()


def plan(client: httpx.Client, env: str, text: str) -> httpx.Response:
    return client.post(
        f"/environments/{env}/plans", content=text, headers={"Content-Type": "application/yaml"}
    )


def wait_run(client: httpx.Client, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def sse_events(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    events = []
    with client.stream("GET", f"/runs/{run_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def start_browser() -> Any:
    """Debian's headless chromium through chromium-driver (Selenium); nothing downloaded.

    Skipped when they are missing, except under ``CI``, where that fails the test."""
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    if missing:
        unavailable(f"chromium / chromium-driver not installed ({', '.join(missing)})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "platform")


@pytest.fixture
def served(project: Project) -> Iterator[Served]:
    server = Served(project, FAKE_CANARY="canary-serve-7f3a91-do-not-print")
    try:
        yield server
    finally:
        server.stop()
