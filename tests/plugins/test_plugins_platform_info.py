"""Registration hooks learn where the platform is; path settings mean paths next to podium.toml.

Issue 11 item 2. A real plugin distribution (on a site directory, found through its
entry point as after a pip install) declares settings typed as paths and a command
that prints what its registration hook received. ``podium`` runs from a directory
that is *not* the config's: relative paths must still resolve against the
directory of ``podium.toml``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from plugin_samples import write_distribution
from pydantic import BaseModel

from podium.platform.context import PlatformInfo
from podium.plugins.setting_paths import path_shape, resolve_defaults, resolve_inputs

WHERE = '''\
"""Prints what its registration hooks were given."""

import json
from pathlib import Path, PurePosixPath
from typing import Optional

import click
from pydantic import BaseModel

from podium import hookimpl
from podium.platform.contract import CliCommand

PODIUM_API = ">=1.0,<2"


class Nested(BaseModel):
    cache: Path = Path("cache")


class Settings(BaseModel):
    data_dir: Path
    extra: list[Path] = []
    maybe: Optional[Path] = None
    posix: PurePosixPath = PurePosixPath("posix.txt")
    default_file: Path = Path("default.txt")
    text: str = "kept/as/written"
    nested: Nested = Nested()


@hookimpl
def podium_cli_commands(settings, platform, platform_name):
    @click.command("where")
    def where():
        click.echo(json.dumps({
            "data_dir": str(settings.data_dir),
            "extra": [str(p) for p in settings.extra],
            "maybe": None if settings.maybe is None else str(settings.maybe),
            "posix": str(settings.posix),
            "default_file": str(settings.default_file),
            "text": settings.text,
            "cache": str(settings.nested.cache),
            "platform": {
                "name": platform.name,
                "root": str(platform.root),
                "state_root": str(platform.state_root),
                "config_path": str(platform.config_path),
                "type": type(platform).__name__,
            },
            "platform_name": platform_name,
        }))

    return [CliCommand(name="where", command=where)]
'''

CONFIG = """\
[platform]
name = "paths"
state_dir = "var/state"

[plugins]
allow = ["where"]

[plugins.where]
data_dir = "data"
extra = ["a/b", "/abs/c", "~/in-home"]
"""


@dataclass
class Project:
    """A platform directory, and a site directory with the ``where`` plugin installed."""

    root: Path
    site: Path

    @property
    def plugin(self) -> Path:
        return self.site / "podium_where" / "__init__.py"

    def write(self, relative: str, text: str) -> None:
        (self.root / relative).write_text(text)

    def podium(
        self, *args: str, cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``podium -c <root>/podium.toml *args`` run from ``cwd`` (default: the root)."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        clean["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(self.site), clean.get("PYTHONPATH")])
        )
        return subprocess.run(
            [sys.executable, "-m", "podium", "-c", str(self.root / "podium.toml"), *args],
            cwd=cwd or self.root,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "platform", tmp_path / "site")
    project.root.mkdir()
    write_distribution(
        project.site, "podium-where", "1.0.0", {"where": "podium_where"},
        {"podium_where/__init__.py": WHERE},
    )  # fmt: skip
    project.write("podium.toml", CONFIG)
    return project


def _where_from(project: Project, cwd: Path, **env: str) -> dict[str, Any]:
    cwd.mkdir(parents=True, exist_ok=True)
    result = project.podium("where", cwd=cwd, HOME=str(cwd / "home"), **env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_relative_path_settings_resolve_against_the_config_directory(
    project: Project, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    seen = _where_from(project, elsewhere)
    root = project.root.resolve()
    assert seen["data_dir"] == str(root / "data")
    assert seen["extra"] == [str(root / "a/b"), "/abs/c", str(elsewhere / "home" / "in-home")]
    assert seen["maybe"] is None
    assert seen["posix"] == str(root / "posix.txt")  # defaults too, any pathlib type
    assert seen["default_file"] == str(root / "default.txt")
    assert seen["cache"] == str(root / "cache")  # in nested models
    assert seen["text"] == "kept/as/written"  # a str field is the author's business
    assert seen["platform"] == {
        "name": "paths",
        "root": str(root),
        "state_root": str(root / "var" / "state"),
        "config_path": str(root / "podium.toml"),
        "type": "PlatformInfo",
    }
    assert seen["platform_name"] == "paths"  # the 0.1 argument keeps working
    # The same answer from the config's own directory: the working directory plays no part.
    assert _where_from(project, project.root) == {
        **seen,
        "extra": [str(root / "a/b"), "/abs/c", str(project.root / "home" / "in-home")],
    }


def test_environment_overrides_of_path_settings_resolve_the_same_way(
    project: Project, tmp_path: Path
) -> None:
    seen = _where_from(
        project,
        tmp_path / "ci",
        PODIUM_PLUGIN_WHERE_DATA_DIR="from-env",
        PODIUM_PLUGIN_WHERE_MAYBE="sub/file",
    )
    root = project.root.resolve()
    assert seen["data_dir"] == str(root / "from-env")
    assert seen["maybe"] == str(root / "sub/file")


def test_a_file_path_field_checks_the_file_next_to_the_config(
    project: Project, tmp_path: Path
) -> None:
    """pydantic's FilePath checks existence: it must look where the config means."""
    plugin = project.plugin
    plugin.write_text(
        plugin.read_text()
        .replace("from pydantic import BaseModel", "from pydantic import BaseModel, FilePath")
        .replace("    data_dir: Path\n", "    data_dir: Path\n    must_exist: FilePath\n")
    )
    project.write("podium.toml", CONFIG + 'must_exist = "present.txt"\n')
    project.write("present.txt", "here\n")
    assert _where_from(project, tmp_path / "other")["data_dir"].endswith("data")
    (project.root / "present.txt").unlink()
    result = project.podium("plugins", "list")  # (a broken config hides plugin commands)
    assert result.returncode == 3, result.stderr  # a config error at the line, as for any key
    assert "podium.toml:11:1: plugins.where.must_exist" in result.stderr, result.stderr


class _Shapes(BaseModel):
    one: Path
    maybe: Path | None = None
    many: list[Path] = []
    fixed: tuple[Path, ...] = ()
    mixed: str | Path = "x"
    text: str = "y"
    number: int = 1


def test_which_annotations_count_as_paths() -> None:
    shapes = {name: path_shape(f.annotation) for name, f in _Shapes.model_fields.items()}
    assert shapes == {
        "one": "one",
        "maybe": "one",
        "many": "many",
        "fixed": "many",
        "mixed": None,  # a str or a path: the plugin decides, Podium leaves it alone
        "text": None,
        "number": None,
    }


def test_resolution_leaves_absolute_paths_and_other_fields_alone(tmp_path: Path) -> None:
    inputs = resolve_inputs(
        _Shapes, {"one": "rel", "many": ["/abs", Path("r")], "mixed": "m", "text": "t"}, tmp_path
    )
    assert inputs == {
        "one": str(tmp_path / "rel"),
        "many": ["/abs", tmp_path / "r"],
        "mixed": "m",
        "text": "t",
    }
    model = _Shapes.model_validate(inputs)
    assert resolve_defaults(model, tmp_path) is model  # nothing relative left: no copy


def test_platform_info_resolves_like_the_config(tmp_path: Path) -> None:
    info = PlatformInfo("p", tmp_path, tmp_path / ".podium", tmp_path / "podium.toml")
    assert info.resolve("a/b") == tmp_path / "a" / "b"
    assert info.resolve("/x") == Path("/x")
    with pytest.raises(AttributeError):
        info.name = "other"  # type: ignore[misc]
