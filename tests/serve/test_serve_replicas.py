"""Two ``podium serve`` processes on one podium-postgres state and one server database.

They share tokens, runs, history and the lease; one is killed with SIGKILL in the
middle of an apply (after a deploy's side effect, before its outcome is recorded) and
the other shows that run aborted and finishes the environment's recovery on its next
run: the lease of the dead process is taken over and its pending intent adopted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, Served, plan, score, wait_run

from podium.testing import unavailable

PG_CONFTEST = Path(__file__).resolve().parents[2] / "plugins" / "postgres" / "tests" / "conftest.py"
CANARY = "replica-canary-2b7e"


def _postgres_tools() -> Any:
    spec = importlib.util.spec_from_file_location("podium_pg_server", PG_CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def postgres_dsn() -> Iterator[str]:
    if os.environ.get("CI"):
        import podium_postgres  # noqa: F401  (CI installs it: missing is a failure)
    pytest.importorskip("podium_postgres", reason="podium-postgres is not installed")
    tools = _postgres_tools()
    bindir = tools._find_binaries()
    if bindir is None:
        unavailable("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = tools.PostgresServer(bindir)
    server.start()
    try:
        yield server.dsn
    finally:
        server.stop()


def test_a_replica_finishes_what_a_killed_one_left(tmp_path: Path, postgres_dsn: str) -> None:
    project = Project(tmp_path / "platform")
    config = project.root / "podium.toml"
    text = config.read_text().replace('allow = ["fake"]', 'allow = ["fake", "postgres"]')
    config.write_text(text + '\n[state]\nbackend = "postgres"\n')
    project.extra_env = {
        "PODIUM_PLUGIN_POSTGRES_DSN": postgres_dsn,
        "PODIUM_SERVE_DATABASE": postgres_dsn,
        "FAKE_CANARY": CANARY,
    }
    first = Served(project, FAKE_PAUSE_AFTER_DEPLOY="120")
    second = Served(project)
    try:
        token = project.token("payments", "developer")  # one database: both servers know it
        a, b = first.client(token), second.client(token)
        assert b.get("/whoami").json()["team"] == "payments"

        made = plan(a, "dev", score("web")).json()["id"]
        run_id = a.post(f"/plans/{made}/apply").json()["id"]
        deployed = project.root / ".podium" / "dev" / "fake-world" / "deployed" / "web.json"
        deadline = time.monotonic() + 60
        while not deployed.exists():
            assert time.monotonic() < deadline, first.output()
            time.sleep(0.05)
        assert b.get(f"/runs/{run_id}").json()["status"] == "running"  # shared runs
        first.stop(signal.SIGKILL)
        assert b.get(f"/runs/{run_id}").json()["status"] == "aborted"

        again = plan(b, "dev", score("web", greeting="again"))
        assert again.status_code == 201, again.text
        started = b.post(f"/plans/{again.json()['id']}/apply")
        assert started.status_code == 202, started.text
        finished = wait_run(b, started.json()["id"])
        assert finished["status"] == "succeeded", finished
        history = b.get("/environments/dev/history", params={"kind": "run"}).json()
        assert [h["status"] for h in history[:2]] == ["succeeded", "aborted"], history[:2]
        pending = project.podium("--json", "state", "intents", "-e", "dev").stdout
        assert json.loads(pending) == []
        assert json.loads(deployed.read_text())["variables"]["main"]["GREETING"] == "again"
        assert CANARY not in second.output() + first.output()
    finally:
        first.stop()
        second.stop()
