"""Reviewable plans through the real ``podium`` CLI (issue 13, item 5).

* An image or variable change shows which attributes change (``containers.main.image:
  "example/web:1.0" -> "example/web:1.1"``), not ``change of digest "fd21…" -> "5116…"``;
  secret values never show, in text or JSON.
* A saved plan stays applicable while unrelated workloads change: staleness is
  checked on the nodes it touches, not on the environment's serial.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the fixture's type only: tox runs pytest without the repository on sys.path
    from tests.engine.conftest import Project

CANARY = "canary-output-8f3a1d"  #: a resource's secret output (FAKE_CANARY)
SECRETS = ("tok-literal-old-51ab", "tok-literal-new-77cd", "file-secret-old", "file-secret-new")
SECRETS += ("param-pass-old-9e", "param-pass-new-4f", CANARY)

WEB = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: {image}
    args: [{args}]
    variables:
      DB_PASSWORD: ${{resources.data.password}}
      API_TOKEN: {token}
      GREETING: {greeting}
    files:
      /etc/app.conf:
        content: "db_password={file_secret}"
resources:
  data:
    type: volume
    params:
      note: {note}
      password: {param_password}
"""

OLD = {
    "image": "example/web:1.0",
    "args": "--port, '8080'",
    "token": SECRETS[0],
    "greeting": "hello",
    "file_secret": SECRETS[2],
    "note": "first",
    "param_password": SECRETS[4],
}
NEW = {
    **OLD,
    "image": "example/web:1.1",
    "token": SECRETS[1],
    "greeting": "bonjour",
    "file_secret": SECRETS[3],
    "note": "second",
    "param_password": SECRETS[5],
}

API = """\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: {image}
    variables:
      MODE: {mode}
resources:
  store:
    type: volume
"""


def write_web(project: Project, **values: str) -> None:
    (project.root / "web.score.yaml").write_text(WEB.format(**values))


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_image_variable_file_and_param_changes_show_as_masked_attribute_diffs(
    project: Project,
) -> None:
    write_web(project, **OLD)
    project.podium("up", check=True, FAKE_CANARY=CANARY)
    write_web(project, **NEW)

    text = project.podium("plan", check=True, FAKE_CANARY=CANARY)
    out = text.stdout + text.stderr
    assert 'containers.main.image: "example/web:1.0" -> "example/web:1.1"' in out
    assert 'containers.main.variables.GREETING: "hello" -> "bonjour"' in out
    assert 'containers.main.variables.API_TOKEN: "(sensitive)" -> "(sensitive)"' in out
    assert 'containers.main.files./etc/app.conf.content: "(content)" -> "content changed"' in out
    assert 'params.note: "first" -> "second"' in out
    assert 'params.password: "(sensitive)" -> "(sensitive)"' in out
    assert "change of digest" not in out
    assert "change of containers.main.files./etc/app.conf.content, containers.main.image" in out
    # unchanged attributes and placeholders naming a secret are not listed as changes
    assert "DB_PASSWORD" not in out and "args" not in out
    assert_no_secret(out)

    raw = project.podium("--json", "plan", check=True, FAKE_CANARY=CANARY).stdout
    plan = json.loads(raw)
    by_uid = {change["uid"]: change for change in plan["changes"]}
    deployment = by_uid["deployment:web"]
    assert deployment["action"] == "update"
    image = {
        "path": "containers.main.image",
        "before": "example/web:1.0",
        "after": "example/web:1.1",
    }
    assert image in deployment["diff"]
    assert {
        "path": "containers.main.variables.API_TOKEN",
        "before": "(sensitive)",
        "after": "(sensitive)",
    } in deployment["diff"]
    assert "_attributes" not in (deployment["before"] or {})
    resource = by_uid["volume.default#web.data"]
    assert {"path": "params.note", "before": "first", "after": "second"} in resource["diff"]
    # What a reviewer reads (reasons, diffs) holds no secret value; the canary, a resource's
    # secret output, is nowhere in the JSON. (The embedded Score source and the specs that
    # verification recomputes carry the Score file's literal values by design.)
    assert_no_secret(json.dumps([[c["reason"], c["diff"]] for c in plan["changes"]]))
    assert CANARY not in raw


def test_saved_plan_applies_after_an_unrelated_workload_changed(project: Project) -> None:
    write_web(project, **OLD)
    (project.root / "api.score.yaml").write_text(API.format(image="example/api:1.0", mode="a"))
    project.podium("up", check=True)

    write_web(project, **{**OLD, "greeting": "bonjour"})
    project.podium("plan", "-f", "web.score.yaml", "--out", "web-plan.json", check=True)
    saved = json.loads((project.root / "web-plan.json").read_text())
    assert saved["format"] == 3 and "deployment:web" in saved["fingerprints"]
    assert not any("api" in uid for uid in saved["fingerprints"])

    # another team applies an unrelated workload: the serial moves on
    (project.root / "api.score.yaml").write_text(API.format(image="example/api:1.1", mode="b"))
    project.podium("up", "-f", "api.score.yaml", check=True)

    applied = project.podium("apply", "web-plan.json")
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete" in applied.stdout
    deployed: Any = project.deployed("web")
    assert deployed["variables"]["main"]["GREETING"] == "bonjour"
    assert project.deployed("api")["variables"]["main"]["MODE"] == "b"  # type: ignore[index]


def test_saved_plan_is_stale_when_its_own_nodes_changed(project: Project) -> None:
    write_web(project, **OLD)
    (project.root / "api.score.yaml").write_text(API.format(image="example/api:1.0", mode="a"))
    project.podium("up", check=True)

    write_web(project, **{**OLD, "greeting": "bonjour"})
    project.podium("plan", "-f", "web.score.yaml", "--out", "web-plan.json", check=True)
    # someone deploys another version of web itself in between
    write_web(project, **{**OLD, "greeting": "hola"})
    project.podium("up", "-f", "web.score.yaml", check=True)
    write_web(project, **{**OLD, "greeting": "bonjour"})  # the reviewed source again

    stale = project.podium("apply", "web-plan.json")
    assert stale.returncode == 8, (stale.stdout, stale.stderr)
    assert "changed since this plan was made" in stale.stderr
    assert "deployment:web" in stale.stderr
    assert "Traceback" not in stale.stderr
    assert project.deployed("web")["variables"]["main"]["GREETING"] == "hola"  # type: ignore[index]


def test_plan_file_of_format_2_still_loads_and_is_checked_on_the_serial(project: Project) -> None:
    write_web(project, **OLD)
    (project.root / "api.score.yaml").write_text(API.format(image="example/api:1.0", mode="a"))
    project.podium("up", check=True)
    write_web(project, **{**OLD, "greeting": "bonjour"})
    project.podium("plan", "-f", "web.score.yaml", "--out", "web-plan.json", check=True)

    path = project.root / "web-plan.json"
    data = json.loads(path.read_text())
    data["format"] = 2  # as an older Podium saved it: no fingerprints, no diffs
    del data["fingerprints"]
    for change in data["changes"]:
        del change["diff"]
    path.write_text(json.dumps(data))
    old = project.root / "old-plan.json"
    old.write_text(path.read_text())

    # unchanged state: the old file verifies and applies
    applied = project.podium("apply", "old-plan.json")
    assert applied.returncode == 0, applied.stderr
    # after any apply in the environment, an old file is stale (the serial check, as before)
    write_web(project, **{**OLD, "greeting": "hola"})
    project.podium("plan", "-f", "web.score.yaml", "--out", "web-plan.json", check=True)
    data = json.loads(path.read_text())
    data["format"] = 2  # fingerprints left in: a format 2 file is serial-checked regardless
    for change in data["changes"]:
        del change["diff"]
    path.write_text(json.dumps(data))
    (project.root / "api.score.yaml").write_text(API.format(image="example/api:1.1", mode="b"))
    project.podium("up", "-f", "api.score.yaml", check=True)
    stale = project.podium("apply", "web-plan.json")
    assert stale.returncode == 8, (stale.stdout, stale.stderr)
    assert "serial" in stale.stderr


def test_deployment_applied_before_attributes_were_recorded_diffs_image_and_args(
    project: Project,
) -> None:
    """State from an older Podium has no recorded attributes: the last release still tells."""
    write_web(project, **OLD)
    project.podium("up", check=True)
    databases = list((project.root / ".podium" / "dev").glob("*.db"))
    assert len(databases) == 1, databases
    with sqlite3.connect(databases[0]) as db:  # as an older Podium recorded it
        db.execute(
            "UPDATE records SET bookkeeping = json_remove(bookkeeping, '$.attributes') "
            "WHERE uid = 'deployment:web'"
        )
    write_web(project, **{**NEW, "args": "--port, '9090'"})

    plan = project.podium_json("plan")
    deployment = next(c for c in plan["changes"] if c["uid"] == "deployment:web")
    assert deployment["diff"] == [
        {"path": "containers.main.args", "before": ["--port", "8080"], "after": ["--port", "9090"]},
        {"path": "containers.main.image", "before": "example/web:1.0", "after": "example/web:1.1"},
    ]
    assert deployment["reason"] == "change of containers.main.args, containers.main.image"
