"""podium-local's resource schemas: the outputs and flags it declared in 0.1, params
models that catch at validate what create would refuse, and portable Score files."""

from __future__ import annotations

from typing import Any

import pytest

from podium.provisioning import resource_schema
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
    SecretProvisioner: (("value",), {"value"}, set()),
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
