"""Secrets kept in OpenBao reach the workload and nowhere else.

A canary value set with ``podium secrets set`` (stored in OpenBao through the
``openbao`` store) and one a platform rule reads from a KV path flow into a
deployed podium-local workload. Every command runs with debug logging and hook
tracing; everything printed and every file under the project (state database and
WAL, spans, saved plan, the deployer's files) is searched for them: zero hits. The
workload proves it got the values by writing their digests outside the project.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from conftest import Bao
from project import Project, assert_absent, digest, wait_for_text


def test_openbao_secrets_reach_the_workload_and_no_log_plan_output_span_or_state_byte(
    tmp_path: Path, bao: Bao
) -> None:
    stored = "bao-stored-canary-" + uuid.uuid4().hex
    payments = "bao-path-canary-" + uuid.uuid4().hex
    name = "canary" + uuid.uuid4().hex[:6]
    project = Project(tmp_path / "platform", bao, name=name)
    seen = tmp_path / "seen.txt"
    project.write_secret_digests_app("app/canary", seen)
    bao.client().secrets.kv.v2.create_or_update_secret(
        path=f"shared/{name}/payments", secret={"api_key": payments}, mount_point="secret"
    )
    env = {"PODIUM_TRACE_HOOKS": "1"}
    project.podium("secrets", "set", "app/canary", stdin=stored, **env)
    try:
        for args in (
            ("--debug", "plan", "-f", "app.score.yaml", "--out", "plan.json"),
            ("--json", "plan", "-f", "app.score.yaml"),
            ("--debug", "apply", "plan.json"),
            ("--json", "outputs"),
            ("--debug", "outputs"),
            ("--json", "history"),
            ("--json", "secrets", "list"),
            ("--debug", "--json", "plan", "-f", "app.score.yaml", "--refresh"),
        ):
            project.podium(*args, **env)
        wait_for_text(seen, "the workload never started")
        # The workload really received both values, resolved from OpenBao.
        assert seen.read_text().split() == [digest(stored), digest(payments)]
        # The secret's value is in OpenBao, not in the state (not even sealed: it is live).
        listed = project.json("secrets", "list")
        assert "app/canary" in str(listed)
    finally:
        project.podium("destroy", "--yes", check=False)
    project.podium("--json", "history")
    files = project.files()
    assert any(name.endswith("state.db") for name in files)
    assert any(name.endswith("spans.jsonl") and data for name, data in files.items())
    assert_absent([stored, payments], {**project.printed, **files})
