"""The complete audit trail (issue 13 item 7), through the real ``podium`` CLI.

The platform lead found human ``history`` without workload names, and rollbacks, secret
changes, state edits, blocked attempts and secret reveals missing from it, and a killed
run left ``running`` for ever. Each is now an entry with the actor, in ``history`` and
``history --json``, and ``--kind`` filters them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

ACTOR = {"PODIUM_ACTOR": "alice@example.com"}


def history(project: Any, *args: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = project.podium_json("history", *args, **ACTOR)
    return entries


def human(project: Any, *args: str) -> list[str]:
    return project.podium("history", *args, check=True, **ACTOR).stdout.splitlines()


def ok(project: Any, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return project.podium(*args, check=True, **{**ACTOR, **env})


def test_human_history_names_the_workloads_and_the_actor(project: Any) -> None:
    ok(project, "up")
    [line] = human(project)
    assert "alice@example.com" in line and "apply" in line and "succeeded" in line
    assert "web: " in line and "create" in line
    ok(project, "destroy", "--yes")
    destroyed = human(project)[0]  # a destroy plans no Score file: the workloads it removes
    assert "destroy" in destroyed and "web: " in destroyed and "delete" in destroyed


def test_a_rollback_is_recorded_with_its_workload(project: Any) -> None:
    ok(project, "up")
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("example/web:1.0", "example/web:1.1"))
    ok(project, "up")
    ok(project, "rollback", "web")
    [entry] = history(project, "--kind", "rollback")
    assert entry["who"] == "alice@example.com" and entry["workloads"] == ["web"]
    assert entry["kind"] == "rollback" and entry["status"] == "succeeded"
    assert any(
        "rollback" in line and "web: release 3 = release 1" in line for line in human(project)
    )


def test_an_automatic_rollback_is_recorded_as_a_rollback(project: Any) -> None:
    config = project.root / "podium.toml"
    config.write_text(
        config.read_text().replace(
            '[environments.dev]\ndeployer = "fake-deployer"\n',
            '[environments.dev]\ndeployer = "fake-deployer"\nrollback_on_failure = true\n',
        )
    )
    ok(project, "up")
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("GREETING: hello", "GREETING: v2"))
    failed = project.podium("up", FAKE_DEPLOY_FAIL_RELEASE="2", **ACTOR)
    assert failed.returncode == 6, failed.stderr
    [entry] = history(project, "--kind", "rollback")
    assert entry["who"] == "alice@example.com" and entry["workloads"] == ["web"]
    assert entry["summary"] == "automatic: rolled back to release 1 (now release 3)"
    run = history(project, "--kind", "run")[0]
    assert run["status"] == "failed" and run["run_id"] == entry["run_id"]


def test_secret_changes_are_recorded_set_rotated_and_deleted(project: Any) -> None:
    ok(project, "secrets", "set", "api/token", "--value", "s3cret-one", "-e", "dev")
    ok(project, "secrets", "set", "api/token", "--value", "s3cret-two", "-e", "dev")
    ok(project, "secrets", "delete", "api/token", "-e", "dev")
    entries = history(project, "--kind", "secret")
    assert [e["operation"] for e in entries] == ["secrets delete", "secrets set", "secrets set"]
    assert {e["who"] for e in entries} == {"alice@example.com"}
    text = "\n".join(human(project, "--kind", "secret"))
    assert "api/token (dev): rotated to version 2" in text
    assert "api/token (dev): version 1" in text and "api/token (dev): deleted" in text
    assert "s3cret" not in text + json.dumps(entries)


def test_state_edits_are_recorded(project: Any) -> None:
    ok(project, "up")
    records = project.podium_json("state", "list")
    data = next(r for r in records if r["uid"].endswith("web.data"))
    ok(project, "state", "forget", data["uid"])
    ok(project, "state", "import", data["uid"], data["physical_name"])
    entries = history(project, "--kind", "state")
    assert [e["operation"] for e in entries] == ["state import", "state forget"]
    assert all(e["who"] == "alice@example.com" for e in entries)
    assert entries[0]["changes"][0]["uid"] == data["uid"]
    text = "\n".join(human(project, "--kind", "state"))
    assert f"forgot {data['uid']}" in text and f"imported {data['uid']} as " in text


def test_a_policy_blocked_attempt_is_recorded(project: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("example/web:1.0", "example/web"))
    refused = project.podium("up", "-e", "prod", **ACTOR)
    assert refused.returncode == 5, refused.stderr
    [entry] = history(project, "-e", "prod")
    assert entry["status"] == "blocked" and entry["kind"] == "blocked"
    assert entry["operation"] == "up" and entry["reason"] == "policy"
    assert entry["who"] == "alice@example.com" and entry["workloads"] == ["web"]
    assert "builtin.no-latest-image" in entry["message"]
    [line] = human(project, "-e", "prod", "--kind", "blocked")
    assert "up" in line and "blocked" in line and "web: policy: " in line


def test_a_data_loss_refusal_is_recorded(project: Any) -> None:
    (project.root / "podium.toml").write_text(
        (project.root / "podium.toml").read_text().replace('"fake-dir"', '"fake-data-dir"')
    )
    ok(project, "up", "-e", "prod")
    score = project.root / "web.score.yaml"
    text = score.read_text()
    score.write_text(
        text.replace("      parent: ${resources.data.source}\n", "").replace(
            "  cache:\n    type: volume\n    params:\n", ""
        )
    )
    refused = project.podium("up", "-e", "prod", **ACTOR)
    assert refused.returncode == 5, refused.stderr
    entry = history(project, "-e", "prod", "--kind", "blocked")[0]
    assert entry["reason"] == "data-loss" and entry["operation"] == "up"
    assert "podium.data-loss" in entry["message"]


def test_an_ownership_refusal_is_recorded(project: Any) -> None:
    ok(project, "up")
    other = project.root / "other"
    other.mkdir()
    (other / "web.score.yaml").write_text((project.root / "web.score.yaml").read_text())
    refused = project.podium("up", "-f", "other/web.score.yaml", **ACTOR)
    assert refused.returncode == 11, refused.stderr
    [entry] = history(project, "--kind", "blocked")
    assert entry["reason"] == "ownership" and entry["workloads"] == ["web"]
    assert entry["who"] == "alice@example.com"


def test_an_unverified_plan_is_recorded(project: Any) -> None:
    ok(project, "plan", "--out", "plan.json")
    saved = json.loads((project.root / "plan.json").read_text())
    saved["workloads"][0]["source"] = saved["workloads"][0]["source"].replace(
        "GREETING: hello", "GREETING: injected"
    )
    (project.root / "plan.json").write_text(json.dumps(saved))
    refused = project.podium("apply", "plan.json", **ACTOR)
    assert refused.returncode == 12, refused.stderr
    [entry] = history(project)
    assert entry["status"] == "blocked" and entry["reason"] == "unverified-plan"
    assert entry["operation"] == "apply" and entry["workloads"] == ["web"]
    assert project.podium_json("state", "list") == []


def test_secret_reveals_are_recorded_without_the_values(project: Any) -> None:
    ok(project, "up", FAKE_CANARY="canary-8d1f")
    assert "(sensitive)" in ok(project, "outputs").stdout
    assert history(project, "--kind", "reveal") == []  # redacted output reveals nothing
    shown = ok(project, "outputs", "--show-secrets").stdout
    assert "canary-8d1f" in shown
    ok(project, "secrets", "set", "api/token", "--value", "t0ken-value")
    assert ok(project, "secrets", "get", "api/token", "--reveal").stdout.strip() == "t0ken-value"
    entries = history(project, "--kind", "reveal")
    assert [e["operation"] for e in entries] == ["secrets get --reveal", "outputs --show-secrets"]
    assert all(e["who"] == "alice@example.com" for e in entries)
    assert "volume.default#web.data" in [c["uid"] for c in entries[1]["changes"]]
    everything = json.dumps(history(project)) + "\n".join(human(project))
    assert "canary-8d1f" not in everything and "t0ken-value" not in everything
    # a platform-wide secret serves every environment: its reveal is in each one's trail
    assert history(project, "-e", "prod", "--kind", "reveal")[0]["operation"] == (
        "secrets get --reveal"
    )


def test_a_killed_run_is_recorded_aborted(project: Any) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "podium", "up"],
        cwd=project.root,
        env=project.env(FAKE_PAUSE_AFTER_CREATE="60", **ACTOR),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(e["status"] == "running" for e in _raw_history(project)):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    # shown aborted at once: no live lock belongs to it any more
    [entry] = history(project)
    assert entry["status"] == "aborted" and entry["who"] == "alice@example.com"
    assert "aborted" in human(project)[0]
    # the next run records it so in state
    ok(project, "up")
    entries = _raw_history(project)
    assert [e["status"] for e in entries] == ["succeeded", "aborted"]
    assert "took over the lock of alice@example.com" in entries[1]["aborted"]


def _raw_history(project: Any) -> list[dict[str, Any]]:
    """The entries as stored (not as ``history`` shows them), read from SQLite directly:
    each entry's latest record (history is append-only: an outcome is a record of its own)."""
    import sqlite3

    db = project.root / ".podium" / "dev" / "state.db"
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            rows = conn.execute(
                "SELECT entry_id, data FROM history h WHERE NOT EXISTS (SELECT 1 FROM history n "
                "WHERE n.entry_id = h.entry_id AND n.seq > h.seq) ORDER BY entry_id DESC"
            ).fetchall()
        except sqlite3.OperationalError:
            return []
    return [{**json.loads(data), "id": entry_id} for entry_id, data in rows]


def test_state_unlock_is_recorded_and_settles_the_dead_run(project: Any) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "podium", "up"],
        cwd=project.root,
        env=project.env(FAKE_PAUSE_AFTER_CREATE="60", **ACTOR),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(e["status"] == "running" for e in _raw_history(project)):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    ok(project, "state", "unlock")
    stored = _raw_history(project)
    assert [(e["operation"], e["status"]) for e in stored] == [
        ("state unlock", "succeeded"),
        ("apply", "aborted"),
    ]
    assert "removed the lock of alice@example.com" in stored[0]["summary"]


def test_a_cancelled_run_is_recorded_cancelled(project: Any) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "podium", "up"],
        cwd=project.root,
        env=project.env(FAKE_PAUSE_AFTER_CREATE="3", **ACTOR),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(e["status"] == "running" for e in _raw_history(project)):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)  # Ctrl-C: the running change finishes, nothing new starts
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    [entry] = history(project)
    assert entry["status"] == "cancelled" and entry["who"] == "alice@example.com"
    assert entry["workloads"] == ["web"]
    assert "cancelled" in human(project, "--kind", "run")[0]
