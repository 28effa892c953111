"""The registry is looked up with typed keys; hookspecs say precisely what authors get (issue 11 item 5)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from podium.plugins.kinds import HOOKSPEC_MODULES, KINDS, PROVISIONERS, REGISTRATION_HOOKS
from podium.plugins.manager import PluginManager
from podium.provisioning.contract import Provisioner

REPO = Path(__file__).resolve().parents[2]


class Bucket(Provisioner):
    name = "bucket"
    resource_type = "s3"

    def create(self, ctx):  # type: ignore[no-untyped-def]
        return {}

    def read(self, ctx):  # type: ignore[no-untyped-def]
        return None

    def delete(self, ctx):  # type: ignore[no-untyped-def]
        return None


class Buckets:
    PODIUM_API = ">=1"

    @staticmethod
    def podium_provisioners() -> list[Provisioner]:
        return [Bucket()]


def _manager() -> PluginManager:
    from podium import hookimpl

    hookimpl(Buckets.podium_provisioners)
    return PluginManager(load_entrypoints=False, plugins=[("buckets", Buckets())], environ={})


def test_a_typed_key_and_its_name_find_the_same_registration() -> None:
    manager = _manager()
    typed = manager.registered(PROVISIONERS, "bucket")
    assert isinstance(typed.obj, Bucket) and typed.kind == "provisioners"
    assert manager.registered("provisioners", "bucket") is typed  # the 0.1 form still works
    assert manager.registrations(PROVISIONERS) == manager.registrations("provisioners")
    assert set(KINDS) == {k.name for k in KINDS.values()}
    with pytest.raises(ValueError, match="unknown registration kind 'provisioner'"):
        manager.registrations("provisioner")


SNIPPET = """\
from podium.deployment.contract import Deployer
from podium.plugins.kinds import DEPLOYERS, PROVISIONERS
from podium.plugins.manager import PluginManager, Registered
from podium.provisioning.contract import Provisioner


def use(manager: PluginManager) -> None:
    registered: Registered[Provisioner] = manager.registered(PROVISIONERS, "x")
    provisioner: Provisioner = registered.obj
    deployer: Deployer = manager.registrations(DEPLOYERS)["y"].obj
    wrong: Deployer = manager.registered(PROVISIONERS, "x").obj
"""


def test_mypy_sees_the_type_a_key_names(tmp_path: Path) -> None:
    """Engine code needs no cast: mypy --strict knows ``.obj`` is a Provisioner."""
    from mypy import api

    source = tmp_path / "uses_registry.py"
    source.write_text(SNIPPET)
    out, err, _ = api.run(["--strict", "--config-file", str(REPO / "pyproject.toml"), str(source)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1, out + err
    assert "uses_registry.py:11: error: Incompatible types in assignment" in errors[0]
    assert 'expression has type "Provisioner", variable has type "Deployer"' in errors[0]


def test_registration_hookspecs_take_typed_arguments() -> None:
    """No ``Any`` for authors: settings are a pydantic model or None; platform is PlatformInfo."""
    for module_name in HOOKSPEC_MODULES:
        module = importlib.import_module(module_name)
        for name, function in vars(module).items():
            if name not in REGISTRATION_HOOKS:
                continue
            annotations = inspect.get_annotations(function)
            assert annotations.get("settings") == "BaseModel | None", name
            assert annotations.get("platform") == "PlatformInfo", name
            assert annotations.get("platform_name") == "str", name
            assert "Any" not in " ".join(annotations.values()), name
