"""Resource schemas in-process: one schema from every declaration, and its flags drive
replacement and secret handling in the engine (through the Platform API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import legacy_plugin
import objstore_plugin
import pytest
from pydantic import BaseModel, Field

from podium.api import Platform
from podium.errors import InputError
from podium.provisioning import Output, Param, Provisioner, ResourceContext, resource_schema
from podium.provisioning.schema import FORCES_REPLACEMENT, PLATFORM_ONLY
from podium.security.secret import Secret


def test_01_declarations_become_a_schema() -> None:
    schema = resource_schema(legacy_plugin.QueueProvisioner())
    assert schema.outputs_declared
    assert list(schema.outputs) == ["url", "name", "token"]
    assert schema.sensitive_outputs == {"token"}
    assert schema.required_outputs == {"url", "name", "token"}
    assert schema.forces_replacement == {"fifo"}
    assert schema.params_model is None and schema.check_params({"fifo": "anything"}) == []
    opaque = resource_schema(legacy_plugin.OpaqueProvisioner())
    assert not opaque.outputs_declared and opaque.unknown_output("whatever") is None


def test_a_model_and_output_fields_set_the_01_attributes_too() -> None:
    """One source of truth: code that reads the 0.1 attributes sees the schema's flags."""
    store = objstore_plugin.StoreProvisioner
    assert store.outputs == ("bucket", "endpoint", "access_key", "secret_key")
    assert store.secret_outputs == {"access_key", "secret_key"}
    assert store.replace_on == {"tier"}
    assert store.platform_params == frozenset()


def test_old_and_new_declarations_add_up() -> None:
    class Params(BaseModel):
        size: int = Param(1, forces_replacement=True)
        owner: str | None = Param(None, platform_only=True)
        zone: str | None = Field(None, json_schema_extra={FORCES_REPLACEMENT: True})

    class Mixed(Provisioner):
        name = "mixed"
        resource_type = "mixed"
        params_model = Params
        output_fields: ClassVar[dict[str, Output]] = {"host": Output("h"), "dsn": Output("d")}
        outputs = ("host", "legacy_only")
        secret_outputs = frozenset({"dsn"})
        replace_on = frozenset({"engine"})
        platform_params = frozenset({"allow"})

        def create(self, ctx: ResourceContext) -> dict[str, Any]:
            return {}

        def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
            return None

        def delete(self, ctx: ResourceContext) -> None:
            return None

    schema = resource_schema(Mixed())
    assert list(schema.outputs) == ["host", "dsn", "legacy_only"]
    assert schema.sensitive_outputs == {"dsn"}
    assert schema.forces_replacement == {"size", "zone", "engine"}
    assert schema.platform_only == {"owner", "allow"}
    assert Mixed.replace_on == {"size", "zone", "engine"}
    mixed = Mixed()
    assert mixed.requires_replace({"size": 1}, {"size": 2})
    assert mixed.requires_replace({"zone": "a"}, {"zone": "b"})
    assert not mixed.requires_replace({"owner": "a"}, {"owner": "b"})
    document = schema.json_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    params = document["properties"]["params"]["properties"]
    assert params["size"][FORCES_REPLACEMENT] and params["engine"][FORCES_REPLACEMENT]
    assert params["owner"][PLATFORM_ONLY] and params["allow"][PLATFORM_ONLY]


def test_check_params_paths_messages_and_placeholders() -> None:
    class Limits(BaseModel):
        cpu: int

    class Params(BaseModel):
        port: int | str
        limits: Limits | None = None
        tags: list[str] = []

    class Holder:
        name = "holder"
        resource_type = "holder"
        params_model = Params

    schema = resource_schema(Holder())
    problems = {p.path: p.message for p in schema.check_params({"port": {"a": 1}})}
    # Union member tags ('int', 'str') are not part of the path into the user's params.
    assert list(problems) == [("port",)], problems
    assert problems[("port",)] == (
        "param 'port': Input should be a valid integer or a valid string"
    ), problems
    nested = schema.check_params({"port": 1, "limits": {"cpu": "x"}, "tags": ["a", 2]})
    assert {p.path for p in nested} == {("limits", "cpu"), ("tags", 1)}
    missing = schema.check_params({})
    assert [(p.path, p.message) for p in missing] == [(("port",), "missing required param 'port'")]
    # A value holding a placeholder is known only at apply: not judged now.
    assert schema.check_params({"port": "${resources.api.port}", "tags": ["${metadata.x}"]}) == []
    assert schema.check_params({"port": 1, "limits": {"cpu": "${resources.a.cpu}"}}) == []
    # An escaped placeholder is literal text, and literal text is judged.
    assert schema.check_params({"port": 1, "limits": {"cpu": "$${x}"}})


def platform_with_store(root: Path) -> Platform:
    config = {
        "platform": {"name": "inproc", "state_dir": str(root / ".podium")},
        "environments": {"dev": {}},
        "rules": [{"type": "objstore", "provisioner": "objstore"}],
    }
    return Platform(
        config, root=root, plugins=[("objstore", objstore_plugin)], load_entrypoints=False
    )


WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  web:
    image: shop/web:1
    variables:
      KEY: ${resources.store.access_key}
resources:
  store:
    type: objstore
    params:
      tier: standard
"""


def test_forces_replacement_and_sensitive_flags_drive_the_engine(tmp_path: Path) -> None:
    score = tmp_path / "score.yaml"
    score.write_text(WORKLOAD)
    with platform_with_store(tmp_path) as platform:
        result = platform.up("dev", [score])[1]
        assert result.ok, result.to_dict()
        outputs = platform.outputs("dev")["objstore.default#shop.store"]
        # access_key came back as a plain str; the schema's sensitive flag made it a Secret.
        assert outputs["access_key"] != "AK-" + outputs["bucket"]
        revealed = platform.outputs("dev", show_secrets=True)["objstore.default#shop.store"]
        assert revealed["access_key"] == "AK-" + outputs["bucket"]
        record = next(r for r in platform.store("dev").records() if r.kind == "resource")
        assert isinstance(platform.cipher("dev").unseal(record.outputs)["access_key"], Secret)

        score.write_text(WORKLOAD.replace("tier: standard", "tier: archive"))
        plan = platform.plan("dev", [score])
        assert plan.change("objstore.default#shop.store").action == "replace"
        score.write_text(WORKLOAD.replace("tier: standard", "tier: standard\n      quota_mb: 5"))
        update = platform.plan("dev", [score])
        assert update.change("objstore.default#shop.store").action == "update"


def test_validate_through_the_api_lists_every_problem(tmp_path: Path) -> None:
    score = tmp_path / "score.yaml"
    score.write_text(
        WORKLOAD.replace("access_key", "acess_key").replace("tier: standard", "tier: [a]")
    )
    with platform_with_store(tmp_path) as platform, pytest.raises(InputError) as caught:
        platform.validate("dev", [score])
    errors = getattr(caught.value, "errors", [caught.value])
    fields = sorted(str(e.field) for e in errors)
    assert fields == ["containers.web.variables.KEY", "resources.store.params.tier"]
    assert all(e.location is not None and e.location.line for e in errors)


def test_a_declaration_of_the_wrong_kind_fails_where_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="output_fields must map output names to Output"):

        class Listed(legacy_plugin.OpaqueProvisioner):
            output_fields = ("host", "port")  # type: ignore[assignment]

    with pytest.raises(TypeError, match="params_model must be a pydantic model class"):

        class Dict(legacy_plugin.OpaqueProvisioner):
            params_model = {"size": int}  # type: ignore[assignment]


def test_every_place_naming_a_missing_output_is_reported(tmp_path: Path) -> None:
    score = tmp_path / "score.yaml"
    score.write_text(
        WORKLOAD.replace(
            "KEY: ${resources.store.access_key}",
            "KEY: ${resources.store.acess_key}\n      AGAIN: ${resources.store.acess_key}",
        )
    )
    with platform_with_store(tmp_path) as platform, pytest.raises(InputError) as caught:
        platform.validate("dev", [score])
    errors = getattr(caught.value, "errors", [caught.value])
    assert [e.field for e in errors] == [
        "containers.web.variables.KEY",
        "containers.web.variables.AGAIN",
    ]
    assert [e.location.line for e in errors if e.location] == [8, 9]
