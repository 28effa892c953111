"""Two ``podium serve`` processes on one podium-postgres state and one server database.

They share tokens, runs, history and the lease; one is killed with SIGKILL in the
middle of an apply (after a deploy's side effect, before its outcome is recorded) and
the other shows that run aborted and finishes the environment's recovery on its next
run: the lease of the dead process is taken over and its pending intent adopted. On
one machine the dead server's pid says it is gone; a server "on another machine" (its
own host identity, ``PODIUM_SERVE_HOST_ID``) is found dead by its silent heartbeat.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
import uuid
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


@pytest.fixture
def fresh_dsn(postgres_dsn: str) -> str:
    """A database of its own on the module's server, so tests never share state."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    return postgres_dsn.rsplit("/", 1)[0] + f"/{name}"


def test_a_replica_finishes_what_a_killed_one_left(tmp_path: Path, postgres_dsn: str) -> None:
    project = Project(tmp_path / "platform")
    _replicas(project, postgres_dsn)
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


def _replicas(project: Project, dsn: str, extra_config: str = "") -> None:
    config = project.root / "podium.toml"
    text = config.read_text().replace('allow = ["fake"]', 'allow = ["fake", "postgres"]')
    config.write_text(text + extra_config + '\n[state]\nbackend = "postgres"\n')
    project.extra_env = {
        "PODIUM_PLUGIN_POSTGRES_DSN": dsn,
        "PODIUM_SERVE_DATABASE": dsn,
        "FAKE_CANARY": CANARY,
    }


def _servers(dsn: str) -> list[str]:
    """The servers with a heartbeat record, by host identity."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as db:
        rows = db.execute("SELECT id FROM podium_serve.servers ORDER BY id").fetchall()
    return [str(server).split("|", 1)[0] for (server,) in rows]


def test_a_dead_replica_on_another_machine_is_found_by_its_heartbeat(
    tmp_path: Path, fresh_dsn: str
) -> None:
    project = Project(tmp_path / "platform")
    timeout = 4.0
    beats = f"heartbeat_interval = 0.5\nheartbeat_timeout = {timeout}\n"
    _replicas(project, fresh_dsn, beats)
    # Its own host identity: this server's pid means nothing to the other one, which
    # must learn of its death from the database alone.
    elsewhere = Served(project, FAKE_PAUSE_AFTER_DEPLOY="120", PODIUM_SERVE_HOST_ID="far-away")
    here = Served(project)
    try:
        token = project.token("payments", "developer")
        far, near = elsewhere.client(token), here.client(token)
        assert "far-away" in _servers(fresh_dsn) and len(_servers(fresh_dsn)) == 2

        made = plan(far, "dev", score("web")).json()["id"]
        run_id = far.post(f"/plans/{made}/apply").json()["id"]
        deployed = project.root / ".podium" / "dev" / "fake-world" / "deployed" / "web.json"
        deadline = time.monotonic() + 60
        while not deployed.exists():
            assert time.monotonic() < deadline, elsewhere.output()
            time.sleep(0.05)
        killed_at = time.monotonic()
        elsewhere.stop(signal.SIGKILL)
        seen = near.get(f"/runs/{run_id}").json()["status"]
        if time.monotonic() - killed_at < timeout / 2:  # (a slow machine proves nothing here)
            assert seen == "running", "not the heartbeat: the pid of another machine's server"
        deadline = time.monotonic() + 120
        while (run := near.get(f"/runs/{run_id}").json())["status"] == "running":
            assert time.monotonic() < deadline, here.output()
            time.sleep(0.2)
        assert run["status"] == "aborted" and "stopped" in run["detail"]["error"], run
        assert "far-away" not in _servers(fresh_dsn)  # its record went with its runs

        again = plan(near, "dev", score("web", greeting="again"))
        assert again.status_code == 201, again.text
        started = near.post(f"/plans/{again.json()['id']}/apply")
        assert started.status_code == 202, started.text
        finished = wait_run(near, started.json()["id"])
        assert finished["status"] == "succeeded", finished
        history = near.get("/environments/dev/history", params={"kind": "run"}).json()
        assert [h["status"] for h in history[:2]] == ["succeeded", "aborted"], history[:2]
        pending = project.podium("--json", "state", "intents", "-e", "dev").stdout
        assert json.loads(pending) == []
        assert json.loads(deployed.read_text())["variables"]["main"]["GREETING"] == "again"
    finally:
        elsewhere.stop()
        here.stop()
    assert _servers(fresh_dsn) == []  # a server that stops cleanly removes its heartbeat
    assert CANARY not in here.output() + elsewhere.output()
