"""podium-local's resource schemas: the outputs and flags it declared in 0.1, params
models that catch at validate what create would refuse, and portable Score files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import resource_schema
from podium_local.provisioners.basic import (
    DnsProvisioner,
    EnvironmentProvisioner,
    ServicePortProvisioner,
    VolumeProvisioner,
)
from podium_local.provisioners.postgres import PostgresProvisioner
from podium_local.provisioners.redis import RedisProvisioner
from podium_local.provisioners.route import RouteProvisioner
from podium_local.provisioners.secret import SecretProvisioner

#: 0.1 declarations: outputs, secret outputs, params only the platform may set.
BEFORE: dict[type[Any], tuple[tuple[str, ...], set[str], set[str]]] = {
    VolumeProvisioner: (("source", "path"), set(), set()),
    EnvironmentProvisioner: ((), set(), {"allow", "prefix", "file"}),
    DnsProvisioner: (("host",), set(), set()),
    ServicePortProvisioner: (("host", "hostname", "port"), set(), set()),
    PostgresProvisioner: (
        ("host", "port", "name", "database", "username", "password", "uri"),
        {"password", "uri"},
        set(),
    ),
    RedisProvisioner: (("host", "port", "username", "password", "key_prefix"), {"password"}, set()),
    RouteProvisioner: (("url", "host", "port", "path"), set(), set()),
    SecretProvisioner: (("value",), {"value"}, {"secret_store_dir"}),
}


@pytest.mark.parametrize("cls", list(BEFORE), ids=lambda c: c.name)
def test_schemas_keep_the_01_declarations(cls: type[Any]) -> None:
    outputs, secret, platform = BEFORE[cls]
    schema = resource_schema(cls)
    assert tuple(schema.outputs) == outputs
    assert schema.outputs_declared == bool(outputs)  # environment's outputs are open
    assert schema.sensitive_outputs == secret
    assert schema.platform_only == platform
    assert schema.forces_replacement == frozenset()
    assert cls.outputs == outputs and cls.secret_outputs == secret
    assert cls.platform_params == platform


@pytest.mark.parametrize("cls", list(BEFORE), ids=lambda c: c.name)
def test_params_meant_for_another_environments_provisioner_are_ignored(cls: type[Any]) -> None:
    """The same Score file runs on AWS in prod: its params for RDS must not fail on dev."""
    schema = resource_schema(cls)
    assert schema.unknown_params == "ignored"
    problems = schema.check_params({"instance_class": "db.t4g.micro", "multi_az": True})
    assert not [p for p in problems if p.path[0] in ("instance_class", "multi_az")]


@pytest.mark.parametrize(
    ("cls", "params", "path", "says"),
    [
        (RouteProvisioner, {"port": 8080}, ("host",), "missing required param 'host'"),
        (RouteProvisioner, {"host": "shop", "port": [80]}, ("port",), "valid string"),
        (ServicePortProvisioner, {"workload": "api"}, ("port",), "missing required param"),
        (SecretProvisioner, {}, ("key",), "missing required param 'key'"),
        (DnsProvisioner, {"name": {"a": 1}}, ("name",), "valid string"),
        (EnvironmentProvisioner, {"keys": {"A": 1}}, ("keys",), "valid string or a valid list"),
    ],
)
def test_what_create_would_refuse_is_refused_at_validate(
    cls: type[Any], params: dict[str, Any], path: tuple[str, ...], says: str
) -> None:
    [problem] = resource_schema(cls).check_params(params)
    assert problem.path == path and says in problem.message, problem


def test_numbers_are_taken_where_text_is_read() -> None:
    """The provisioners read ``str(value)``: a YAML number stays acceptable."""
    assert resource_schema(RouteProvisioner).check_params({"host": "shop", "port": 8080}) == []
    assert resource_schema(ServicePortProvisioner).check_params({"workload": "a", "port": 1}) == []
    placeholder = {"host": "${resources.dns.host}", "port": "${resources.api.port}"}
    assert resource_schema(RouteProvisioner).check_params(placeholder) == []


CONFIG = """\
[platform]
name = "localschemas"

[plugins]
allow = ["local"]

[environments.dev]
deployer = "local"

[[rules]]
type = "postgres"
provisioner = "local-postgres"

[[rules]]
type = "dns"
provisioner = "local-dns"
"""

WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  web:
    image: python:3.12-slim
    variables:
      DB_URL: ${resources.db.uri}
      DB_PASSWORD: ${resources.db.pasword}
      HOST: ${resources.dns.host}
    command: [sleep, "60"]
resources:
  db:
    type: postgres
  dns:
    type: dns
    params:
      name: [shop, api]
"""


def podium(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``podium`` CLI in ``root``, without the operator's PODIUM_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_validate_and_plan_refuse_an_undeclared_output_and_a_wrong_type(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(CONFIG)
    (tmp_path / "score.yaml").write_text(WORKLOAD)
    for command in ("validate", "plan"):
        result = podium(tmp_path, command, "-f", "score.yaml")
        assert result.returncode == 3, result.stdout + result.stderr
        assert (
            "score.yaml:9:7: containers.web.variables.DB_PASSWORD: placeholder "
            "${resources.db.pasword}: resource 'db' (postgres, provisioner 'local-postgres') "
            "has no output 'pasword'; did you mean 'password'? "
            "available: database, host, name, password, port, uri, username"
        ) in result.stderr, result.stderr
        assert (
            "score.yaml:18:7: resources.dns.params.name: resource 'dns' (dns, provisioner "
            "'local-dns'): param 'name': Input should be a valid string"
        ) in result.stderr, result.stderr
    assert not (tmp_path / ".podium" / "dev" / "local").exists()  # nothing was started
    fixed = WORKLOAD.replace("pasword", "password").replace("[shop, api]", "shop")
    (tmp_path / "score.yaml").write_text(fixed)
    result = podium(tmp_path, "validate", "-f", "score.yaml")
    assert result.returncode == 0, result.stderr


def test_schema_resource_shows_podium_locals_declarations(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(CONFIG)
    result = podium(tmp_path, "schema", "resource", "postgres")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "postgres: provisioner local-postgres (plugin local; classes: all; holds data)" in text
    assert "params (unknown ones are ignored):" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("    ")}
    assert "sensitive" in rows["password"] and "sensitive" in rows["uri"]
    assert "integer" in rows["port"]
    environment = podium(tmp_path, "schema", "resource", "environment").stdout
    assert "platform only" in environment  # allow, prefix and file
    assert "outputs: not declared" in environment  # the offered variables, whatever names
    document = json.loads(podium(tmp_path, "--json", "schema", "resource", "redis").stdout)
    [schema] = document["provisioners"]
    assert schema["x-podium-provisioner"] == "local-redis"
    assert schema["properties"]["outputs"]["properties"]["password"]["x-podium-sensitive"]


def test_podium_local_data_stores_declare_that_they_hold_data() -> None:
    """What a plan labels DATA LOSS when deleted or replaced (see the data-loss guard)."""
    from podium_local.provisioners.basic import DnsProvisioner, VolumeProvisioner
    from podium_local.provisioners.postgres import PostgresProvisioner
    from podium_local.provisioners.redis import RedisProvisioner
    from podium_local.provisioners.route import RouteProvisioner

    stores = [PostgresProvisioner, RedisProvisioner, VolumeProvisioner]
    assert all(resource_schema(cls).holds_data for cls in stores)
    assert not any(resource_schema(cls).holds_data for cls in (RouteProvisioner, DnsProvisioner))
