"""The API of a real ``podium serve``: identity, RBAC, plans, runs, SSE and bad input.

Every response body and event stream of these tests joins the secret canary: the
fake provisioner returns ``FAKE_CANARY`` as a secret output that the workload uses,
and only the one explicit reveal may show it.
"""

from __future__ import annotations

from typing import Any

import httpx
from conftest import Project, Served, plan, score, sse_events, wait_run

CANARY = "canary-serve-7f3a91-do-not-print"


class Recorder:
    """Keeps every response body seen, for the canary check."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self.bodies.append(response.text)

    def client(self, served: Served, token: str | None = None) -> httpx.Client:
        client = served.client(token)
        client.event_hooks["response"].append(self.hook)
        return client


def _apply(client: httpx.Client, env: str, text: str) -> dict[str, Any]:
    made = plan(client, env, text)
    assert made.status_code == 201, made.text
    started = client.post(f"/plans/{made.json()['id']}/apply")
    assert started.status_code == 202, started.text
    return wait_run(client, started.json()["id"])


def test_identity_roles_access_and_runs_with_no_secret_in_any_response(
    project: Project, served: Served
) -> None:
    seen = Recorder()
    dev = project.token("payments", "developer")
    dev2 = project.token("payments", "developer")
    viewer = project.token("payments", "viewer")
    other = project.token("search", "developer")
    admin = project.token("platform", "admin")
    revealer = project.token("platform", "admin", "reveal-secrets")
    revoked = project.token("payments", "developer")
    revoked_id = revoked.split("_")[1]
    project.podium("tokens", "revoke", revoked_id)
    listed = project.podium("--json", "tokens", "list").stdout
    assert revoked_id in listed and dev.split("_", 2)[2] not in listed  # no secret listed

    anonymous = seen.client(served)
    assert anonymous.get("/health").json()["status"] == "ok"
    for token in (None, "pdm_nope_nope", revoked, "not-a-token"):
        answer = seen.client(served, token).get("/environments")
        assert answer.status_code == 401, (token, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"

    d = seen.client(served, dev)
    assert {e["name"] for e in d.get("/environments").json()} >= {"dev", "prod"}
    assert d.get("/whoami").json() == {
        "subject": f"token:{dev.split('_')[1]}",
        "team": "payments",
        "role": "developer",
        "permissions": [],
    }

    # A developer plans and applies in dev; the run streams its progress, then finishes.
    made = plan(d, "dev", score("web"))
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    started = d.post(f"/plans/{plan_id}/apply")
    assert started.status_code == 202
    run_id = started.json()["id"]
    events = sse_events(d, run_id)
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "run.finished" and events[-1]["status"] == "succeeded"
    assert "node.succeeded" in kinds
    run = wait_run(d, run_id)
    # A plan applies once: a second apply names the first run.
    again = d.post(f"/plans/{plan_id}/apply")
    assert again.status_code == 409 and again.json()["run"] == run_id
    workloads = d.get("/environments/dev/workloads").json()
    assert [(w["workload"], w["state"], w["owner"]) for w in workloads] == [
        ("web", "ready", "payments")
    ]
    history = d.get("/environments/dev/history").json()
    assert any(h.get("run_id") == run["engine_run_id"] for h in history)
    assert d.get("/environments/dev/workloads/web/logs").json()[0]["text"] == "deployed web"

    # Viewers read but do not plan; the denial is recorded with its reason.
    v = seen.client(served, viewer)
    assert v.get("/environments/dev/workloads").status_code == 200
    refused = plan(v, "dev", score("web"))
    assert refused.status_code == 403 and "needs developer" in refused.json()["error"]

    # Another team cannot plan over payments' workload, nor read its logs.
    o = seen.client(served, other)
    taken = plan(o, "dev", score("web"))
    assert taken.status_code == 403, taken.text
    assert o.get("/environments/dev/workloads/web/logs").status_code == 403

    # qa: only admins apply.
    qa_plan = plan(d, "qa", score("web")).json()["id"]
    denied = d.post(f"/plans/{qa_plan}/apply")
    assert denied.status_code == 403 and "[access.qa]" in denied.json()["error"]

    # prod: a developer needs a second identity's approval of the same plan.
    prod_plan = plan(d, "prod", score("web")).json()["id"]
    denied = d.post(f"/plans/{prod_plan}/apply")
    assert denied.status_code == 403 and "approved" in denied.json()["error"]
    own = d.post(f"/plans/{prod_plan}/approvals")
    assert own.status_code == 403 and "four eyes" in own.json()["error"]
    assert v.post(f"/plans/{prod_plan}/approvals").status_code == 403
    approved = seen.client(served, dev2).post(f"/plans/{prod_plan}/approvals")
    assert approved.status_code == 201, approved.text
    started = d.post(f"/plans/{prod_plan}/apply")
    assert started.status_code == 202, started.text
    assert wait_run(d, started.json()["id"])["status"] == "succeeded"
    decisions = d.get("/environments/prod/history", params={"kind": ["access", "blocked"]}).json()
    verdicts = [(h.get("decision"), h["operation"]) for h in decisions]
    assert ("deny", "serve apply") in verdicts and ("allow", "serve apply") in verdicts
    assert ("deny", "serve approve") in verdicts and ("allow", "serve approve") in verdicts

    # Outputs: redacted unless the caller holds reveal-secrets (and asks).
    assert CANARY not in d.get("/environments/dev/outputs").text
    assert d.get("/environments/dev/outputs", params={"show_secrets": True}).status_code == 403
    a = seen.client(served, admin)
    assert a.get("/environments/dev/outputs", params={"show_secrets": True}).status_code == 403
    shown = served.client(revealer).get("/environments/dev/outputs", params={"show_secrets": True})
    assert shown.status_code == 200 and CANARY in shown.text  # the one explicit reveal
    reveals = d.get("/environments/dev/history", params={"kind": "reveal"}).json()
    assert reveals and reveals[0]["who"] == f"token:{revealer.split('_')[1]}"

    # Rollback and destroy run as runs too; destroy by name, for the owner team.
    assert _apply(d, "dev", score("web", greeting="bonjour"))["status"] == "succeeded"
    back = d.post("/environments/dev/workloads/web/rollback")
    assert back.status_code == 202, back.text
    assert wait_run(d, back.json()["id"])["status"] == "succeeded"
    assert o.post("/environments/dev/workloads/web/rollback").status_code == 403
    assert d.post("/environments/dev/destroy").status_code == 403  # everything: admins only
    gone = d.post("/environments/dev/destroy", params={"workload": "web"})
    assert gone.status_code == 202
    assert wait_run(d, gone.json()["id"])["status"] == "succeeded"
    assert d.get("/environments/dev/workloads").json() == []

    for name, client in (("dev", d), ("viewer", v)):
        for run_row in client.get("/runs").json():
            seen.bodies.extend(e.get("message", "") for e in sse_events(client, run_row["id"]))
            seen.bodies.append(str(sse_events(client, run_row["id"])))
        assert name
    hits = [body[:200] for body in seen.bodies if CANARY in body]
    assert not hits, f"secret canary in API responses: {hits}"
    assert CANARY not in served.output()


def test_bad_input_gets_a_clear_4xx(project: Project, served: Served) -> None:
    d = served.client(project.token("payments", "developer"))
    yaml = {"Content-Type": "application/yaml"}
    malformed = d.post("/environments/dev/plans", content="metadata: [unclosed", headers=yaml)
    assert malformed.status_code == 400 and "<api:payments>" in malformed.json()["error"]
    invalid = d.post("/environments/dev/plans", content="metadata: {name: x}\n", headers=yaml)
    assert invalid.status_code == 400, invalid.text
    wrong_type = d.post(
        "/environments/dev/plans", content=score("web"), headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415 and "application/yaml" in wrong_type.json()["error"]
    # JSON names the platform's workloads; a Score file sent as JSON is not that.
    as_json = d.post("/environments/dev/plans", json={"score": "x"})
    assert as_json.status_code == 400 and '{"workloads"' in as_json.json()["error"]
    huge = d.post("/environments/dev/plans", content="#" * 70000, headers=yaml)
    assert huge.status_code == 413
    binary = d.post("/environments/dev/plans", content=b"\xff\xfe\x00", headers=yaml)
    assert binary.status_code == 400 and "UTF-8" in binary.json()["error"]
    assert d.post("/environments/nope/plans", content=score("web"), headers=yaml).status_code == 404
    # Plans are served by a shortcut past FastAPI's routing (PlanShortcut): the same
    # answers as every other endpoint for no token, a bad flag and a streamed large body.
    anonymous = served.client().post("/environments/dev/plans", content=score("web"), headers=yaml)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    flag = d.post(
        "/environments/dev/plans", params={"refresh": "maybe"}, content=score("web"), headers=yaml
    )
    assert flag.status_code == 400 and "refresh" in flag.json()["error"]
    chunks = (b"#" * 1000 for _ in range(70))  # no Content-Length: counted as it arrives
    assert d.post("/environments/dev/plans", content=chunks, headers=yaml).status_code == 413
    for bad in ("..%2F..%2Fetc%2Fpasswd", "../../serve.db", "x" * 32, "ABC"):
        answer = d.get(f"/runs/{bad}")
        assert answer.status_code in (400, 404), (bad, answer.status_code)
        assert answer.json()["error"]
    assert d.get("/plans/" + "0" * 32).status_code == 404
    assert d.get("/environments/dev/workloads/..%2Fx/logs").status_code in (400, 404)
    assert d.get("/environments/dev/workloads/UPPER/logs").status_code == 400
    assert d.get("/environments/dev/history", params={"limit": "many"}).status_code == 400
    openapi = served.client().get("/openapi.json")
    assert openapi.status_code == 200
    paths = openapi.json()["paths"]
    assert "/api/v1/plans/{plan_id}/apply" in paths and "/api/v1/runs/{run_id}/events" in paths
