"""Runs of a real ``podium serve``: queueing behind the lease, client disconnects, shutdown."""

from __future__ import annotations

import json
import signal
import threading
import time

from conftest import Project, Served, plan, score, wait_run


def test_runs_queue_behind_the_lease_and_survive_a_disconnect(project: Project) -> None:
    served = Served(project, FAKE_PAUSE_AFTER_DEPLOY="1")
    try:
        d = served.client(project.token("payments", "developer"))
        plans = [plan(d, "dev", score(f"app{i}", resources=False)).json()["id"] for i in range(3)]
        runs = [d.post(f"/plans/{p}/apply").json()["id"] for p in plans]
        # A client reads the first run's stream for a moment, then goes away.
        with d.stream("GET", f"/runs/{runs[0]}/events") as stream:
            next(stream.iter_lines())
        finished = [wait_run(d, r) for r in runs]
        assert [r["status"] for r in finished] == ["succeeded"] * 3
        history = d.get("/environments/dev/history", params={"kind": "run"}).json()
        assert {r["engine_run_id"] for r in finished} <= {h["run_id"] for h in history}
        # A CLI run holding the lease: the server's run waits for it instead of failing.
        cli = threading.Thread(
            target=project.podium,
            args=("up", "-e", "dev", "-f", "slow.score.yaml"),
            kwargs={"FAKE_PAUSE_AFTER_DEPLOY": "3"},
        )
        (project.root / "slow.score.yaml").write_text(score("slow", resources=False))
        cli.start()
        deadline = time.monotonic() + 30
        while not (project.root / ".podium/dev/fake-world/deployed/slow.json").exists():
            assert time.monotonic() < deadline, "the CLI run did not start"
            time.sleep(0.05)
        queued = d.post(
            f"/plans/{plan(d, 'dev', score('late', resources=False)).json()['id']}/apply"
        )
        assert wait_run(d, queued.json()["id"])["status"] == "succeeded"
        cli.join()
    finally:
        served.stop()


def test_shutdown_cancels_a_run_cleanly(project: Project) -> None:
    served = Served(project, FAKE_PAUSE_AFTER_DEPLOY="4")
    d = served.client(project.token("payments", "developer"))
    for name in ("one", "two"):
        (project.root / f"{name}.score.yaml").write_text(score(name, resources=False))
    made = plan(d, "dev", score("one", resources=False))
    run_id = d.post(f"/plans/{made.json()['id']}/apply").json()["id"]
    queued_plan = plan(d, "dev", score("two", resources=False)).json()["id"]
    queued_id = d.post(f"/plans/{queued_plan}/apply").json()["id"]
    deadline = time.monotonic() + 30
    while d.get(f"/runs/{run_id}").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    served.stop(signal.SIGTERM)
    # The lease is free at once for the next command (no wait), history closed the run.
    project.podium("up", "-e", "dev", "-f", "two.score.yaml")
    entries = json.loads(project.podium("--json", "history", "-e", "dev").stdout)
    runs = [e for e in entries if e.get("kind") == "run"]
    assert [e["status"] for e in runs][1] in ("succeeded", "cancelled"), runs
    assert all(e["status"] not in ("running", "aborted") for e in entries)
    # The run cancelled while queued never reached the engine: history has it all the same.
    assert [e["status"] for e in entries if e.get("serve_run") == queued_id] == ["cancelled"]
    # The server's own records say how each run ended.
    again = Served(project)
    try:
        a = again.client(project.token("payments", "developer"))
        first, second = a.get(f"/runs/{run_id}").json(), a.get(f"/runs/{queued_id}").json()
        assert first["status"] in ("succeeded", "cancelled"), first
        assert second["status"] == "cancelled", second
        again_plan = plan(a, "dev", score("three", resources=False)).json()["id"]
        up = a.post(f"/plans/{again_plan}/apply")
        assert wait_run(a, up.json()["id"])["status"] == "succeeded"
    finally:
        again.stop()
