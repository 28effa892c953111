"""First-party plugins (and what ``podium plugin new`` generates) use only the author modules.

A plugin's code imports Podium through :mod:`podium.plugin`; its tests add
:mod:`podium.testing` (and the documented kit module ``podium.testing.conformance``).
Everything else under ``podium.`` is the core's inside and may move between
releases: a first-party plugin that reaches into it hides a gap in the author
module that every third-party author would hit too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from podium.cli.commands.scaffold import create_plugin

REPO = Path(__file__).resolve().parents[2]

#: What a plugin's package and its tests may import from Podium.
ALLOWED = frozenset({"podium.plugin", "podium.testing", "podium.testing.conformance"})

#: Reach-ins being removed by other work, as (file relative to the repository, module).
#: A listed reach-in that no longer exists fails the test, so the list only shrinks.
KNOWN_REACH_INS: frozenset[tuple[str, str]] = frozenset()


def podium_imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every ``podium`` module that ``path`` imports, with its line (relative imports are local)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            if module == "podium" or module.startswith("podium."):
                yield node.lineno, module


def reach_ins(files: list[Path], root: Path) -> set[tuple[str, int, str]]:
    return {
        (path.relative_to(root).as_posix(), line, module)
        for path in files
        for line, module in podium_imports(path)
        if module not in ALLOWED
    }


def plugin_sources() -> list[Path]:
    found = sorted(
        path
        for part in ("src", "tests")
        for path in (REPO / "plugins").glob(f"*/{part}/**/*.py")
        if "build" not in path.relative_to(REPO).parts
    )
    assert len(found) > 50, "the plugins' sources were not found"
    return found


def test_first_party_plugins_import_only_the_author_modules() -> None:
    found = reach_ins(plugin_sources(), REPO)
    unexpected = sorted(f for f in found if (f[0], f[2]) not in KNOWN_REACH_INS)
    assert not unexpected, "import Podium through podium.plugin / podium.testing:\n" + "\n".join(
        f"{file}:{line}: imports {module}" for file, line, module in unexpected
    )


def test_every_known_reach_in_still_exists() -> None:
    """Remove an entry of KNOWN_REACH_INS once the reach-in it excuses is gone."""
    found = {(file, module) for file, _, module in reach_ins(plugin_sources(), REPO)}
    assert sorted(KNOWN_REACH_INS - found) == []


def test_the_generated_plugin_imports_only_the_author_modules(tmp_path: Path) -> None:
    domains = ["provisioning", "deployment", "security", "observability"]
    package = create_plugin("importcheck", tmp_path, domains)
    files = sorted(package.rglob("*.py"))
    assert len(files) >= 10
    found = reach_ins(files, package)
    assert not found, "\n".join(f"{file}:{line}: imports {module}" for file, line, module in found)


def test_the_rule_names_file_and_line(tmp_path: Path) -> None:
    """The check itself: every form of import is seen, relative imports are not Podium's."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "import podium.state.rows\n"
        "from podium.plugin import Secret\n"
        "from podium import hookimpl\n"
        "from . import podium\n"
        "def f():\n"
        "    from podium.errors import ResourceError\n"
        "from podium.testing.conformance import ProvisionerConformance\n"
    )
    assert reach_ins([sample], tmp_path) == {
        ("sample.py", 2, "podium.state.rows"),
        ("sample.py", 4, "podium"),
        ("sample.py", 7, "podium.errors"),
    }
