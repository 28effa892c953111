"""Rendering workloads: secrets stay secret, Score's expansion rules hold, errors are located."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import pytest

from podium.deployment.contract import RenderedResource
from podium.errors import WorkloadError
from podium.security.secret import Secret
from podium.workload import load_workload_file, load_workload_text, render_workload, resolve_params
from podium.workload.loader import errors_of

SCORE = """
apiVersion: score.dev/v1b1
metadata:
  name: shop
  annotations:
    example.com/team: payments
containers:
  web:
    image: shop:1.0
    command: ["/bin/sh", "-c"]
    args: ["echo ${resources.db.host} $$HOME"]
    variables:
      DATABASE_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/shop
      DB_HOST: ${resources.db.host}
      TEAM: ${metadata.annotations.example\\.com/team}
      DB_UID: ${resources.db}
      LITERAL: $${resources.db.host}
    files:
      /etc/app/raw.tmpl:
        content: "host=${resources.db.host}"
        noExpand: true
      /etc/app/app.conf:
        content: "host=${resources.db.host} name=${metadata.name}"
        mode: "0600"
      /etc/app/from-file.conf:
        source: conf/app.conf
      /etc/app/blob.bin:
        binaryContent: aGVsbG8=
    volumes:
      /data:
        source: ${resources.data}
        path: sub
        readOnly: true
      /legacy:
        source: plain-volume-name
    readinessProbe:
      httpGet:
        port: 8080
        path: /ready
        httpHeaders:
          - name: X-Probe
            value: "1"
    livenessProbe:
      exec:
        command: ["true"]
    before:
      migrate:
        ready: complete
  migrate:
    image: shop:1.0
service:
  ports:
    http:
      port: 80
      targetPort: 8080
    metrics:
      port: 9090
      protocol: UDP
resources:
  db:
    type: postgres
  data:
    type: volume
  dns:
    type: dns
  route:
    type: route
    params:
      host: ${resources.dns.host}
      path: /shop
      port: 80
      tags: ["${metadata.name}", {team: '${metadata.annotations.example\\.com/team}'}]
      dns_uid: ${resources.dns}
"""


@pytest.fixture
def workload(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.conf").write_text("db=${resources.db.host}\nliteral=$${x}\n")
    path = tmp_path / "score.yaml"
    path.write_text(textwrap.dedent(SCORE).lstrip())
    return load_workload_file(path)


def resources() -> dict[str, RenderedResource]:
    return {
        "db": RenderedResource(
            uid="postgres.default#shop.db",
            type="postgres",
            outputs={
                "host": "127.0.0.1",
                "port": 5432,
                "username": "shop",
                "password": Secret("hunter2"),
            },
        ),
        "data": RenderedResource(
            uid="volume.default#shop.data", type="volume", outputs={"source": "/var/vol/data"}
        ),
        "dns": RenderedResource(uid="dns.default#shop.dns", type="dns", outputs={"host": "a.b"}),
        "route": RenderedResource(uid="route.default#shop.route", type="route", outputs={}),
    }


def test_variables_with_a_secret_become_secret(workload) -> None:  # type: ignore[no-untyped-def]
    web = render_workload(workload, resources()).containers["web"]
    url = web.variables["DATABASE_URL"]
    assert isinstance(url, Secret)
    assert url.reveal() == "postgres://shop:hunter2@127.0.0.1:5432/shop"
    assert web.variables["DB_HOST"] == "127.0.0.1"
    assert web.variables["TEAM"] == "payments"
    assert web.variables["DB_UID"] == "postgres.default#shop.db"
    assert web.variables["LITERAL"] == "${resources.db.host}"
    # Never in any serialised form.
    rendered = render_workload(workload, resources())
    assert "hunter2" not in repr(rendered)
    assert "hunter2" not in str(rendered.model_dump())


def test_command_and_args_are_not_expanded(workload) -> None:  # type: ignore[no-untyped-def]
    web = render_workload(workload, resources()).containers["web"]
    assert web.command == ["/bin/sh", "-c"]
    assert web.args == ["echo ${resources.db.host} $$HOME"]


def test_files_respect_noexpand_source_and_binary(workload) -> None:  # type: ignore[no-untyped-def]
    web = render_workload(workload, resources()).containers["web"]
    files = {f.target: f for f in web.files}
    assert files["/etc/app/raw.tmpl"].content == "host=${resources.db.host}"
    assert files["/etc/app/app.conf"].content == "host=127.0.0.1 name=shop"
    assert files["/etc/app/app.conf"].mode == "0600"
    assert files["/etc/app/from-file.conf"].content == "db=127.0.0.1\nliteral=${x}\n"
    assert files["/etc/app/blob.bin"].binary_content == "aGVsbG8="
    assert files["/etc/app/blob.bin"].content is None


def test_volume_source_is_the_resource_outputs(workload) -> None:  # type: ignore[no-untyped-def]
    web = render_workload(workload, resources()).containers["web"]
    volumes = {v.target: v for v in web.volumes}
    assert volumes["/data"].source == {"source": "/var/vol/data"}
    assert volumes["/data"].path == "sub" and volumes["/data"].read_only is True
    assert volumes["/legacy"].source == {"source": "plain-volume-name"}
    assert volumes["/legacy"].read_only is False


def test_probes_ports_before_and_annotations(workload) -> None:  # type: ignore[no-untyped-def]
    rendered = render_workload(workload, resources())
    web = rendered.containers["web"]
    assert web.readiness_probe is not None and web.readiness_probe.http_get is not None
    assert web.readiness_probe.http_get.port == 8080
    assert web.readiness_probe.http_get.path == "/ready"
    assert web.readiness_probe.http_get.headers == {"X-Probe": "1"}
    assert web.liveness_probe is not None and web.liveness_probe.exec_command == ["true"]
    assert web.before == {"migrate": "complete"}
    assert rendered.containers["migrate"].before == {}
    assert rendered.ports["http"].port == 80 and rendered.ports["http"].target_port == 8080
    assert rendered.ports["metrics"].target_port == 9090
    assert rendered.ports["metrics"].protocol == "UDP"
    assert rendered.annotations == {"example.com/team": "payments"}
    assert set(rendered.resources) == {"db", "data", "dns", "route"}


def test_missing_output_key_names_resource_and_available_keys(workload) -> None:  # type: ignore[no-untyped-def]
    given = resources()
    given["db"] = RenderedResource(
        uid="postgres.default#shop.db", type="postgres", outputs={"host": "h", "port": 1}
    )
    with pytest.raises(WorkloadError) as caught:
        render_workload(workload, given)
    errors = errors_of(caught.value)
    by_field = {e.field: e for e in errors}
    error = by_field["containers.web.variables.DATABASE_URL"]
    assert "resource 'db' (postgres.default#shop.db) has no output 'username'" in error.reason
    assert "available outputs: host, port" in error.reason
    assert error.location is not None and error.location.line == 12
    assert error.location.path == str(workload.path)
    assert all("hunter2" not in str(e) for e in errors)


def test_unprovisioned_volume_and_missing_source_file(tmp_path: Path, workload) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "conf" / "app.conf").unlink()
    given = resources()
    del given["data"]
    with pytest.raises(WorkloadError) as caught:
        render_workload(workload, given)
    by_field = {e.field: e for e in errors_of(caught.value)}
    missing = by_field["containers.web.files./etc/app/from-file.conf.source"]
    assert "file 'conf/app.conf' not found" in missing.reason
    assert str(tmp_path / "conf" / "app.conf") in missing.reason
    assert missing.location is not None and missing.location.line == 25
    volume = by_field["containers.web.volumes./data.source"]
    assert "volume resource 'data'" in volume.reason


def test_binary_source_file_needs_noexpand(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\xff\x00\xfe")
    text = textwrap.dedent(
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: bin
        containers:
          main:
            image: x
            files:
              /raw:
                source: blob.bin
                noExpand: {flag}
        """
    )
    path = tmp_path / "score.yaml"
    path.write_text(text.replace("{flag}", "true"))
    (file,) = render_workload(load_workload_file(path), {}).containers["main"].files
    assert base64.b64decode(file.binary_content or "") == b"\xff\x00\xfe"
    path.write_text(text.replace("{flag}", "false"))
    with pytest.raises(WorkloadError, match=r"not UTF-8 text.*noExpand: true"):
        render_workload(load_workload_file(path), {})


def test_resolve_params_expands_from_dependencies(workload) -> None:  # type: ignore[no-untyped-def]
    route = workload.resources["route"]
    assert route.depends_on() == {"dns"}
    assert route.params["host"] == "${resources.dns.host}"  # raw until resolved
    descriptor = {"uid": "dns.default#shop.dns", "type": "dns", "class": "default"}
    for given in (
        {"dns": {"host": "a.b"}},
        {"dns": {**descriptor, "outputs": {"host": "a.b"}}},
        {"dns": resources()["dns"]},
    ):
        params = resolve_params(route, given)
        assert params == {
            "host": "a.b",
            "path": "/shop",
            "port": 80,
            "tags": ["shop", {"team": "payments"}],
            "dns_uid": "dns.default#shop.dns",
        }


def test_resolve_params_keeps_secrets_and_locates_errors() -> None:
    workload = load_workload_text(
        textwrap.dedent(
            """
            apiVersion: score.dev/v1b1
            metadata:
              name: app
            containers:
              main:
                image: x
            resources:
              db:
                type: postgres
              user:
                type: db-user
                params:
                  dsn: postgres://admin:${resources.db.password}@${resources.db.host}
            """
        ).lstrip(),
        "app.yaml",
    )
    user = workload.resources["user"]
    params = resolve_params(user, {"db": {"host": "h", "password": Secret("pw")}})
    assert isinstance(params["dsn"], Secret)
    assert params["dsn"].reveal() == "postgres://admin:pw@h"
    with pytest.raises(WorkloadError) as caught:
        resolve_params(user, {"db": {"host": "h"}})
    error = caught.value
    assert error.field == "resources.user.params"
    assert error.location is not None and (error.location.path, error.location.line) == (
        "app.yaml",
        10,
    )
    assert "has no output 'password'; available outputs: host" in error.reason
    with pytest.raises(WorkloadError, match="no outputs yet"):
        resolve_params(user, {})


def test_non_string_outputs_render_as_json(tmp_path: Path) -> None:
    workload = load_workload_text(
        textwrap.dedent(
            """
            apiVersion: score.dev/v1b1
            metadata:
              name: app
            containers:
              main:
                image: x
                variables:
                  HOSTS: ${resources.cfg.hosts}
                  FIRST: ${resources.cfg.nested.first}
            resources:
              cfg:
                type: environment
            """
        ).lstrip()
    )
    cfg = RenderedResource(
        uid="environment.default#app.cfg",
        type="environment",
        outputs={"hosts": ["a", "b"], "nested": {"first": 1}},
    )
    variables = render_workload(workload, {"cfg": cfg}).containers["main"].variables
    assert json.loads(str(variables["HOSTS"])) == ["a", "b"]
    assert variables["FIRST"] == "1"
