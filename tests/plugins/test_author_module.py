"""``podium.plugin``: one module with every name a plugin author needs, cheap to import.

Its names load lazily (a module ``__getattr__``), so the module keeps three lists
in step: the ``TYPE_CHECKING`` imports type checkers read, the table the lazy
loader reads, and ``__all__``. These tests keep them honest and check that the
names are the core's own objects, that importing the module pulls in nothing
heavy, and that every Podium type a hook hands to a plugin is exported.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import podium.plugin
from podium.plugin import Workload
from podium.testing import load_workload_text

CORE = Path(podium.__file__).resolve().parent
EAGER = {"API_VERSION", "hookimpl"}


def _type_checking_imports() -> dict[str, str]:
    """``name -> home module`` for the imports under ``if TYPE_CHECKING:`` in podium/plugin.py."""
    tree = ast.parse((CORE / "plugin.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for child in node.body:
                assert isinstance(child, ast.ImportFrom) and child.module, ast.unparse(child)
                found.update({alias.name: child.module for alias in child.names})
    return found


def _lazy_table() -> dict[str, str]:
    return {name: home for home, names in podium.plugin._HOMES.items() for name in names}


def test_the_three_lists_agree() -> None:
    checked = _type_checking_imports()
    assert checked == _lazy_table()
    assert sorted(podium.plugin.__all__) == sorted({*checked, *EAGER})
    assert len(podium.plugin.__all__) == len(set(podium.plugin.__all__))


@pytest.mark.parametrize("name", sorted(_lazy_table()))
def test_each_name_is_the_core_object_itself(name: str) -> None:
    import importlib

    home = importlib.import_module(_lazy_table()[name])
    assert getattr(podium.plugin, name) is getattr(home, name)


def test_an_unknown_name_is_an_attribute_error_naming_the_module() -> None:
    with pytest.raises(AttributeError, match=r"module 'podium.plugin' has no attribute 'Nope'"):
        podium.plugin.Nope  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError, match="Nope"):
        exec("from podium.plugin import Nope", {})


def test_dir_lists_every_export() -> None:
    assert set(podium.plugin.__all__) <= set(dir(podium.plugin))


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(result.stdout))


HEAVY = ("pydantic", "cryptography", "opentelemetry", "structlog", "sqlite3", "yaml")


def test_importing_the_module_loads_no_contract_and_no_heavy_library() -> None:
    """Importing ``podium.plugin`` (e.g. for ``hookimpl``) must stay as cheap as ``import podium``."""
    modules = _modules_after("from podium.plugin import API_VERSION, hookimpl")
    # `import podium` alone no longer loads pluggy (`podium --version` does not need it).
    baseline = _modules_after("from podium import hookimpl")
    assert modules - baseline == {"podium._lazy", "podium.plugin"}
    assert not {m.partition(".")[0] for m in modules} & set(HEAVY)


def test_a_name_loads_only_its_home_module() -> None:
    modules = _modules_after("from podium.plugin import TransientError")
    assert "podium.errors" in modules
    assert not {"podium.engine", "podium.api", "podium.deployment.contract"} & modules


def test_workload_is_importable_at_runtime_and_is_what_policies_receive() -> None:
    """In 0.1 ``Workload`` was importable only under ``TYPE_CHECKING``."""
    text = (
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: x\n"
    )
    workload = load_workload_text(text, "score.yaml")
    assert isinstance(workload, Workload)
    assert workload.name == "web"


def _podium_names_in_hook_signatures() -> dict[str, str]:
    """``name -> hookspec module`` for every Podium type in a hookspec's parameters or result."""
    wanted: dict[str, str] = {}
    for spec in sorted(CORE.glob("*/hookspecs.py")):
        tree = ast.parse(spec.read_text(encoding="utf-8"))
        from_podium = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("podium.")
            for alias in node.names
        }
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs]
            for annotation in [*annotations, node.returns]:
                for part in ast.walk(annotation) if annotation else ():
                    if isinstance(part, ast.Name) and part.id in from_podium:
                        wanted[part.id] = spec.relative_to(CORE).as_posix()
    return wanted


def test_every_podium_type_a_hook_takes_or_returns_is_exported() -> None:
    wanted = _podium_names_in_hook_signatures()
    assert {"Provisioner", "Deployer", "Workload", "Plan", "Event"} <= set(wanted)
    missing = {name: spec for name, spec in wanted.items() if name not in podium.plugin.__all__}
    assert missing == {}
