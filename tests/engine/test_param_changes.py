"""A change of params the provisioner never reads is no update (issue 13, item 3)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from podium.engine.param_changes import unread_note, unread_params
from podium.provisioning import Param
from podium.provisioning.schema import ResourceSchema


class Ignoring(BaseModel):
    model_config = ConfigDict(extra="ignore")
    size: int = Param(1)


class Refusing(Ignoring):
    model_config = ConfigDict(extra="forbid")


def schema(model: Any) -> ResourceSchema:
    return ResourceSchema(provisioner="p", resource_type="t", params_model=model)


def spec(params: dict[str, Any], rule: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "t", "params": params, "rule_params": rule or {}}


def test_only_undeclared_params_changed_is_unread() -> None:
    before, after = spec({"size": 2}), spec({"size": 2, "engine_version": "16"})
    assert unread_params(schema(Ignoring), before, after, ["params.engine_version"]) == [
        "engine_version"
    ]


def test_a_declared_param_or_another_key_is_a_real_change() -> None:
    before, after = spec({"size": 2}), spec({"size": 3, "x": 1})
    assert unread_params(schema(Ignoring), before, after, ["params.size", "params.x"]) is None
    moved = {**spec({}), "annotations": {"a": "b"}}
    assert unread_params(schema(Ignoring), spec({}), moved, ["annotations.a"]) is None


def test_a_rule_param_the_workload_overrides_is_unread() -> None:
    before = spec({"size": 2}, {"size": 5})
    after = spec({"size": 2}, {"size": 9})
    assert unread_params(schema(Ignoring), before, after, ["rule_params.size"]) == ["size"]


def test_without_a_model_that_ignores_unknowns_nothing_is_assumed() -> None:
    before, after = spec({}), spec({"x": 1})
    for model in (None, Refusing):
        assert unread_params(schema(model), before, after, ["params.x"]) is None


def test_the_note_names_the_params_and_where_to_look() -> None:
    note = unread_note("t.default#w.r", "p", "t", ["engine_version"])
    assert "engine_version" in note and "podium schema resource t --provisioner p" in note


def test_a_params_mapping_that_appears_is_named_by_its_keys() -> None:
    before = {"type": "t", "params": {"size": 2}}  # no rule_params recorded
    after = spec({"size": 2}, {"engine_version": "16"})
    assert unread_params(schema(Ignoring), before, after, ["rule_params"]) == ["engine_version"]
