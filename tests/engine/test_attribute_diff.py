"""The attribute views and diffs a plan shows: every reviewable attribute, no secret value."""

from __future__ import annotations

import json

from podium.engine.attribute_diff import (
    CONTENT,
    CONTENT_CHANGED,
    attribute_diff,
    spec_attributes,
    workload_attributes,
)
from podium.security.secret import REDACTED, Secret
from podium.workload.loader import load_workload_text

BEFORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: shop/web:1.0
    command: ["python"]
    args: ["app.py"]
    variables:
      SESSION_SECRET: "s3ss-old"
      DB_PASSWORD: ${resources.db.password}
    files:
      /etc/app/secrets.env:
        content: "KEY=k-old"
    readinessProbe:
      httpGet:
        path: /ready
        port: 8080
resources:
  db:
    type: postgres
service:
  ports:
    web:
      port: 80
      targetPort: 8080
"""

AFTER = (
    BEFORE.replace("shop/web:1.0", "shop/web:1.1")
    .replace('args: ["app.py"]', 'args: ["app.py", "--workers", "4"]')
    .replace("s3ss-old", "s3ss-new")
    .replace("k-old", "k-new")
    .replace("path: /ready", "path: /healthz")
    .replace("port: 80\n", "port: 443\n")
)


def diff_of(before: str, after: str) -> dict[str, tuple[object, object]]:
    old = workload_attributes(load_workload_text(before).spec)
    new = workload_attributes(load_workload_text(after).spec)
    return {d["path"]: (d["before"], d["after"]) for d in attribute_diff(old, new)}


def test_each_reviewable_attribute_shows_and_secrets_do_not() -> None:
    changes = diff_of(BEFORE, AFTER)
    assert changes == {
        "containers.main.image": ("shop/web:1.0", "shop/web:1.1"),
        "containers.main.args": (["app.py"], ["app.py", "--workers", "4"]),
        "containers.main.variables.SESSION_SECRET": (REDACTED, REDACTED),
        "containers.main.files./etc/app/secrets.env.content": (CONTENT, CONTENT_CHANGED),
        "containers.main.readinessProbe.httpGet.path": ("/ready", "/healthz"),
        "service.ports.web.port": (80, 443),
    }
    text = json.dumps(changes)
    for secret in ("s3ss-old", "s3ss-new", "k-old", "k-new"):
        assert secret not in text
    # the recorded view (what state keeps) holds digests, never the values
    recorded = json.dumps(workload_attributes(load_workload_text(BEFORE).spec))
    assert "s3ss-old" not in recorded and "k-old" not in recorded


def test_added_and_removed_attributes_show_as_absent() -> None:
    changes = diff_of(BEFORE, BEFORE.replace('    command: ["python"]\n', ""))
    assert changes == {"containers.main.command": (["python"], None)}


def test_resource_params_are_diffed_with_secret_values_masked() -> None:
    before = {"type": "postgres", "params": {"version": "15", "password": "p-old"}}
    after = {"type": "postgres", "params": {"version": "16", "password": Secret("p-new")}}
    changes = attribute_diff(spec_attributes(before), spec_attributes(after))
    assert changes == [
        {"path": "params.password", "before": REDACTED, "after": REDACTED},
        {"path": "params.version", "before": "15", "after": "16"},
    ]
