"""``podium audit list`` and ``podium audit verify`` through the real CLI (issue 19 item 4).

One trail: ``podium history`` and ``podium audit list`` read the same records. The
tampering is what someone with the state file would do: raw SQL, after dropping the
triggers that make history append-only.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

ACTOR = {"PODIUM_ACTOR": "alice@example.com"}


def state_db(project: Any, env: str = "dev") -> Path:
    path: Path = project.root / ".podium" / env / "state.db"
    return path


def tamper(project: Any, statement: str, env: str = "dev") -> None:
    db = sqlite3.connect(state_db(project, env), isolation_level=None)
    try:
        db.execute("DROP TRIGGER IF EXISTS history_append_only_update")
        db.execute("DROP TRIGGER IF EXISTS history_append_only_delete")
        db.execute(statement)
    finally:
        db.close()


def test_history_and_audit_list_read_the_same_records(project: Any) -> None:
    project.podium("up", check=True, **ACTOR)
    project.podium("secrets", "set", "api/token", "--value", "s3cret-v", "-e", "dev", check=True)
    history = project.podium_json("history", **ACTOR)
    records = project.podium_json("audit", "list", "-e", "dev", **ACTOR)
    # the run: a start and an outcome record, then the secret change
    assert [r["seq"] for r in records] == [3, 2, 1]
    secret, outcome, start = records
    assert [e["id"] for e in history] == [secret["entry_id"], start["entry_id"]]
    assert outcome["entry_id"] == start["id"] == history[1]["id"]
    assert (start["result"], outcome["result"]) == ("running", "succeeded")
    assert outcome["entry"] == {k: v for k, v in history[1].items() if k not in ("id", "kind")}
    assert outcome["who"] == "alice@example.com" and outcome["what"] == "apply web"
    assert outcome["decision"] == "allowed" and len(outcome["plan_digest"]) == 64
    assert outcome["plan_digest"] == history[1]["plan_digest"]
    assert secret["kind"] == "secret" and "s3cret" not in json.dumps(records)
    human = project.podium("audit", "list", "-e", "dev", check=True).stdout
    assert "dev:2" in human and "outcome of #" in human and "apply web" in human


def test_verify_passes_then_names_an_edited_record(project: Any) -> None:
    project.podium("up", check=True, **ACTOR)
    project.podium("up", check=True, **ACTOR)
    verified = project.podium("audit", "verify", check=True)
    assert "dev: ok, 4 records" in verified.stdout and "prod: ok, 0 records" in verified.stdout
    tamper(project, "UPDATE history SET who = 'mallory' WHERE seq = 2")
    broken = project.podium("audit", "verify", "-e", "dev")
    assert broken.returncode == 1
    assert "dev: BROKEN at record 2" in broken.stdout and "edited" in broken.stdout
    assert "the audit trail is broken: dev at record 2" in broken.stderr
    [verdict] = json.loads(project.podium("audit", "verify", "-e", "dev", "--json").stdout)
    assert verdict["ok"] is False and verdict["first_bad_seq"] == 2 and verdict["records"] == 1


def test_verify_names_a_deleted_record(project: Any) -> None:
    for _ in range(2):
        project.podium("up", check=True, **ACTOR)
    tamper(project, "DELETE FROM history WHERE seq = 1")
    broken = project.podium("audit", "verify", "-e", "dev")
    assert broken.returncode == 1 and "record 1 is missing" in broken.stdout


def test_a_blocked_attempt_records_its_decision(project: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("example/web:1.0", "example/web"))
    assert project.podium("up", "-e", "prod", **ACTOR).returncode == 5
    [record] = project.podium_json("audit", "list", "-e", "prod")
    assert record["decision"] == "blocked (policy)" and record["result"] == "blocked"
    assert record["kind"] == "blocked" and record["who"] == "alice@example.com"
