"""A platform rule gives a workload OpenBao-issued database credentials (real CLI).

The rule maps ``postgres`` to ``openbao-postgres``; the deployed podium-local
workload logs in with the credentials it was given; the password appears in no
state byte, log, span, plan or output; destroy revokes the lease.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from conftest import Bao
from project import Project, assert_absent, wait_for_text

PROGRAM = (
    "import os, time, psycopg; "
    "c = psycopg.connect(os.environ['DB_URI']); "
    "open('{seen}', 'w').write(c.execute('SELECT session_user').fetchone()[0]); "
    "time.sleep(600)"
)


def _write_app(project: Project, seen: Path) -> None:
    """The app logs in with the credentials it is given and writes who it is to ``seen``."""
    project.write_app(
        PROGRAM.format(seen=seen),
        variables="      DB_URI: ${resources.db.uri}",
        resources="  db:\n    type: postgres",
    )


@pytest.mark.usefixtures("bao")
def test_rule_gives_the_workload_short_lived_credentials(tmp_path: Path, bao: Bao) -> None:
    name = "dyn" + uuid.uuid4().hex[:6]
    project = Project(
        tmp_path / "platform",
        bao,
        name=name,
        postgres="openbao-postgres",
        postgres_params='params = { ttl = "1h" }',
    )
    seen = tmp_path / "seen.txt"
    _write_app(project, seen)
    env = {"PODIUM_TRACE_HOOKS": "1"}
    try:
        project.podium("--json", "plan", "-f", "app.score.yaml", **env)
        project.podium("--debug", "apply", "-f", "app.score.yaml", "--yes", **env)
        outputs = project.json("outputs", "--show-secrets")
        del project.printed["--json outputs --show-secrets (stdout)"]  # asked for explicitly
        db = next(v for uid, v in outputs.items() if uid.startswith("postgres."))
        wait_for_text(seen, "the workload never connected")
        # The workload logged in as the user OpenBao issued, not as the owner role.
        assert seen.read_text() == db["username"] != db["name"]
        lease = bao.client().sys.read_lease(lease_id=db["lease_id"])["data"]
        assert 0 < lease["ttl"] <= 3600
        # A refresh with a healthy lease changes nothing.
        refreshed = project.json("plan", "-f", "app.score.yaml", "--refresh")
        assert all(c["action"] == "no-op" for c in refreshed["changes"]), refreshed["changes"]
        project.podium("--json", "outputs", **env)
    finally:
        project.podium("--debug", "destroy", "--yes", check=False, **env)
    with pytest.raises(Exception, match="invalid lease"):
        bao.client().sys.read_lease(lease_id=db["lease_id"])
    assert_absent([db["password"]], {**project.printed, **project.files()})


def test_a_refresh_rotates_credentials_before_they_end_and_the_app_keeps_its_database(
    tmp_path: Path, bao: Bao
) -> None:
    """Past half its TTL, a lease shows as drift; applying the refreshed plan issues new
    credentials and redeploys the workload with them, before the old ones end."""
    project = Project(
        tmp_path / "platform",
        bao,
        name="rot" + uuid.uuid4().hex[:6],
        postgres="openbao-postgres",
        postgres_params='params = { ttl = "20s", max_ttl = "20s" }',
    )
    seen = tmp_path / "seen.txt"
    _write_app(project, seen)

    def connected_as(old: str = "") -> str:
        return wait_for_text(seen, "the workload never connected", lambda text: text != old)

    try:
        project.podium("apply", "-f", "app.score.yaml", "--yes")
        first = connected_as()
        lease = next(
            v["lease_id"]
            for uid, v in project.json("outputs").items()
            if uid.startswith("postgres.")
        )
        deadline = time.monotonic() + 60
        while bao.client().sys.read_lease(lease_id=lease)["data"]["ttl"] * 2 >= 20:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        plan = project.json("plan", "-f", "app.score.yaml", "--refresh", "--out", "plan.json")
        reasons = [c["reason"] for c in plan["changes"] if c["uid"].startswith("postgres.")]
        assert reasons and "lease_id" in reasons[0]
        project.podium("apply", "plan.json")
        second = connected_as(old=first)
        assert second != first and second.startswith("v-")
    finally:
        project.podium("destroy", "--yes", check=False)
