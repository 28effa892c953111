"""Load: 50 clients planning and 10 applying across 5 environments against a real server.

The duration is ``PODIUM_SERVE_LOAD_SECONDS`` (default 20; CI keeps the default to stay
in the env's budget). No request may get a 5xx; every accepted apply is one run, none
lost or duplicated, and every run is in its environment's history.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

from conftest import ENVIRONMENTS, Project, Served, plan, score, wait_run

PLANNERS = 50
APPLIERS = 10


def test_concurrent_planning_and_applying(project: Project) -> None:
    seconds = float(os.environ.get("PODIUM_SERVE_LOAD_SECONDS", "20"))
    served = Served(project, FAKE_CANARY="load-canary-0d9e")
    planner_token = project.token("payments", "developer")
    applier_token = project.token("platform", "admin")
    statuses: Counter[int] = Counter()
    started_runs: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def count(code: int, what: str) -> None:
        with lock:
            statuses[code] += 1
            if code >= 500:
                failures.append(what)

    def planner(i: int) -> None:
        env = ENVIRONMENTS[i % len(ENVIRONMENTS)]
        with served.client(planner_token, timeout=120) as client:
            n = 0
            while time.monotonic() < stop:
                answer = plan(client, env, score(f"p{i}", greeting=f"g{n}"))
                count(answer.status_code, f"plan {env}: {answer.text[:200]}")
                n += 1

    def applier(j: int) -> None:
        env = ENVIRONMENTS[j % len(ENVIRONMENTS)]
        with served.client(applier_token, timeout=120) as client:
            n = 0
            while time.monotonic() < stop:
                made = plan(client, env, score(f"w{j}", greeting=f"v{n}"))
                count(made.status_code, f"plan {env}: {made.text[:200]}")
                if made.status_code != 201:
                    continue
                started = client.post(f"/plans/{made.json()['id']}/apply")
                count(started.status_code, f"apply {env}: {started.text[:200]}")
                if started.status_code == 202:
                    run_id = started.json()["id"]
                    with lock:
                        started_runs.append(run_id)
                    wait_run(client, run_id, timeout=300)
                n += 1

    threads = [threading.Thread(target=planner, args=(i,)) for i in range(PLANNERS)]
    threads += [threading.Thread(target=applier, args=(j,)) for j in range(APPLIERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 400)
        assert not failures, failures[:5]
        assert set(statuses) <= {201, 202}, statuses
        assert len(started_runs) >= APPLIERS
        with served.client(applier_token) as client:
            listed = client.get("/runs", params={"limit": 1000}).json()
            ids = [r["id"] for r in listed]
            assert len(ids) == len(set(ids))  # no duplicated run
            assert sorted(ids) == sorted(started_runs)  # no lost run, none extra
            by_id = {r["id"]: r for r in listed}
            assert {r["status"] for r in listed} == {"succeeded"}, Counter(
                r["status"] for r in listed
            )
            for env in ENVIRONMENTS:
                history = client.get(
                    f"/environments/{env}/history", params={"limit": 1000, "kind": "run"}
                ).json()
                recorded = {h["run_id"] for h in history}
                mine = [r for r in by_id.values() if r["environment"] == env]
                assert {r["engine_run_id"] for r in mine} <= recorded, env
    finally:
        served.stop()
    print(f"load: {sum(statuses.values())} requests, {len(started_runs)} runs, {dict(statuses)}")
