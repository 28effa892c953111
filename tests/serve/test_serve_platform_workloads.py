"""Planning the platform's own workloads by name (``[platform] workloads``).

The files are found as the CLI finds them, relative to the config file, so they keep
their directory and the owner ``[teams]`` maps it to. A request only names workloads:
names the platform does not list, and anything shaped like a path, are refused.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import Project, Served, plan, score, wait_run


@pytest.fixture
def project(tmp_path: Any) -> Project:
    made = Project(tmp_path / "platform")
    config = made.root / "podium.toml"
    text = config.read_text().replace(
        'name = "servetest"\n', 'name = "servetest"\nworkloads = ["apps/*.score.yaml"]\n', 1
    )
    config.write_text(text + '\n[teams.payments]\npaths = ["apps/**"]\n')
    apps = made.root / "apps"
    apps.mkdir()
    (apps / "web.score.yaml").write_text(score("web"))
    (apps / "api.score.yaml").write_text(score("api", resources=False))
    (made.root / "secret.score.yaml").write_text(score("hidden", resources=False))
    return made


def _plan_names(client: httpx.Client, env: str, body: Any) -> httpx.Response:
    return client.post(f"/environments/{env}/plans", json=body)


def _changes(answer: httpx.Response) -> set[str]:
    return {c["uid"] for c in answer.json()["plan"]["changes"]}


def test_plan_and_apply_the_platforms_workloads_by_name(project: Project, served: Served) -> None:
    dev = served.client(project.token("payments", "developer"))
    other = served.client(project.token("search", "developer"))
    admin = served.client(project.token("platform", "admin"))

    listed = dev.get("/workloads")
    assert listed.status_code == 200, listed.text
    assert listed.json() == [
        {"name": "api", "owner": "payments"},
        {"name": "web", "owner": "payments"},
    ]

    one = _plan_names(dev, "dev", {"workloads": ["web"]})
    assert one.status_code == 201, one.text
    assert "deployment:web" in _changes(one) and "deployment:api" not in _changes(one)
    every = _plan_names(dev, "dev", {})
    assert every.status_code == 201, every.text
    assert {"deployment:web", "deployment:api"} <= _changes(every)
    empty = dev.post(
        "/environments/dev/plans", content=b"", headers={"Content-Type": "application/json"}
    )
    assert empty.status_code == 201 and _changes(empty) == _changes(every)  # all of them

    # Only names the platform lists; nothing shaped like a path gets near the disk.
    for names, status, words in (
        (["hidden"], 404, "not a workload of this platform"),
        (["secret.score.yaml"], 404, "not a workload of this platform"),
        (["../podium.toml"], 400, "invalid workload name"),
        (["/etc/passwd"], 400, "invalid workload name"),
        ("web", 400, "list of workload names"),
        ([1], 400, "list of workload names"),
    ):
        refused = _plan_names(dev, "dev", {"workloads": names})
        assert refused.status_code == status, (names, refused.text)
        assert words in refused.json()["error"], refused.text
    unknown = _plan_names(dev, "dev", {"workloads": ["hidden"]}).json()
    assert unknown["hint"] == "the platform's workloads: api, web"
    assert _plan_names(dev, "dev", {"workload": ["web"]}).status_code == 400
    bad_json = dev.post(
        "/environments/dev/plans", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.text

    # The files' owner team (or an admin) only; the refusal is recorded.
    denied = _plan_names(other, "dev", {"workloads": ["web"]})
    assert denied.status_code == 403 and "owned by payments" in denied.json()["error"]
    assert _plan_names(admin, "dev", {"workloads": ["api"]}).status_code == 201
    blocked = admin.get("/environments/dev/history", params={"kind": "blocked"}).json()
    assert any(h.get("reason") == "access" and "web" in h.get("summary", "") for h in blocked)

    started = dev.post(f"/plans/{every.json()['id']}/apply")
    assert started.status_code == 202, started.text
    assert wait_run(dev, started.json()["id"])["status"] == "succeeded"
    states = {
        w["workload"]: (w["state"], w["owner"])
        for w in dev.get("/environments/dev/workloads").json()
    }
    assert states == {"web": ("ready", "payments"), "api": ("ready", "payments")}

    # A Score file posted as YAML keeps working next to them.
    posted = plan(dev, "dev", score("extra", resources=False))
    assert posted.status_code == 201, posted.text


def test_a_platform_without_workloads_says_so(tmp_path: Any) -> None:
    bare = Project(tmp_path / "bare")
    served = Served(bare)
    try:
        dev = served.client(bare.token("payments", "developer"))
        assert dev.get("/workloads").json() == []
        answer = _plan_names(dev, "dev", {})
        assert answer.status_code == 404 and "lists no workloads" in answer.json()["error"]
    finally:
        served.stop()
