"""Every deployment contract model, field and method says what it means.

A plugin author who wrote a deployer from the docs alone had to guess what half of
these meant: six models had no docstring and no field had a description.
"""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest
from pydantic import BaseModel

from podium.deployment import contract

MODELS = sorted(
    (
        obj
        for obj in vars(contract).values()
        if inspect.isclass(obj)
        and obj.__module__ == contract.__name__
        and not obj.__name__.startswith("_")
    ),
    key=lambda cls: cls.__name__,
)


def own_doc(cls: type) -> str:
    return (cls.__dict__.get("__doc__") or "").strip()


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_every_contract_class_has_its_own_docstring(cls: type) -> None:
    assert own_doc(cls), f"{cls.__name__} has no docstring of its own"


@pytest.mark.parametrize(
    "model",
    [m for m in MODELS if issubclass(m, BaseModel)],
    ids=lambda cls: cls.__name__,
)
def test_every_model_field_has_a_description(model: type[BaseModel]) -> None:
    missing = [name for name, info in model.model_fields.items() if not info.description]
    assert not missing, f"{model.__name__} fields without Field(description=...): {missing}"


@pytest.mark.parametrize(
    "cls", [m for m in MODELS if dataclasses.is_dataclass(m)], ids=lambda cls: cls.__name__
)
def test_every_dataclass_field_has_a_doc_comment(cls: type) -> None:
    """Dataclass fields are documented with a ``#:`` comment right above them (Sphinx and
    mkdocstrings show it as the field's documentation)."""
    lines = inspect.getsource(cls).splitlines()
    missing = []
    for item in dataclasses.fields(cls):
        pattern = re.compile(rf"^\s+{item.name}: ")
        index = next(i for i, line in enumerate(lines) if pattern.match(line))
        if not lines[index - 1].strip().startswith("#:"):
            missing.append(item.name)
    assert not missing, f"{cls.__name__} fields without a '#:' comment: {missing}"


def test_every_deployer_method_is_documented() -> None:
    methods = [
        name
        for name, member in vars(contract.Deployer).items()
        if callable(member) and not name.startswith("_")
    ]
    assert {"deploy", "status", "logs", "rollback", "destroy", "check_workload"} <= set(methods)
    missing = [name for name in methods if not inspect.getdoc(getattr(contract.Deployer, name))]
    assert not missing, f"Deployer methods without a docstring: {missing}"


@pytest.mark.parametrize(
    "topic",
    [
        "crash contract",
        "same release number",
        "``complete``",
        "TransientError",
        "ResourceError",
        "exits 6",
        "NotFoundError",
        "Ports and URLs",
        "Placeholders",
    ],
)
def test_the_module_explains_the_semantics(topic: str) -> None:
    assert topic in (contract.__doc__ or ""), f"the contract's text does not cover {topic!r}"
