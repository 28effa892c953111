"""Every hook, CLI command, config key, exit code and plugin has documentation on the site.

Each test walks the code on its own (not through the page generators) and lists
everything missing from the built HTML, so a failure says exactly what to document.
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
import typing
import warnings
from pathlib import Path
from typing import Any

import click
from docsite import page_text
from griffe_rst import rst_to_markdown
from pydantic import BaseModel

HOOKSPEC_MODULES = (
    "podium.provisioning.hookspecs",
    "podium.deployment.hookspecs",
    "podium.observability.hookspecs",
    "podium.security.hookspecs",
    "podium.platform.hookspecs",
)


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def hookspecs() -> list[str]:
    """Dotted names of every ``podium_*`` hook specification."""
    names = []
    for module_name in HOOKSPEC_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("podium_") and inspect.isfunction(obj):
                names.append(f"{module_name}.{name}")
    return names


def test_the_hook_list_matches_the_plugin_manager() -> None:
    from podium.plugins.kinds import HOOKSPEC_MODULES as managed

    assert set(HOOKSPEC_MODULES) == set(managed), "a hookspec module is missing from the docs"


def test_every_hookspec_is_documented_with_its_docstring(site: Path) -> None:
    page = page_text(site, "reference/hooks")
    missing = [name for name in hookspecs() if f'id="{name}"' not in page]
    assert not missing, f"hooks missing from reference/hooks.md: {missing}"
    text = _text(page)
    undocumented = []
    for dotted in hookspecs():
        module, _, name = dotted.rpartition(".")
        doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
        first = doc.splitlines()[0] if doc else ""
        # The page shows the line as Markdown: roles and backticks are rendered away.
        shown = rst_to_markdown(first).replace("`", "").split("(")[0].strip()
        if not shown or shown not in text:
            undocumented.append(dotted)
    assert not undocumented, f"hooks whose docstring is not on the page: {undocumented}"


def _cli_tree() -> list[tuple[str, click.Command]]:
    from podium.cli.context import CliState
    from podium.cli.main import cli

    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, ctx: click.Context, path: str) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name} is listed but cannot be loaded"
                walk(sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk(cli, click.Context(cli, info_name="podium", obj=CliState(no_plugins=True)), "podium")
    return found


def test_every_cli_command_and_option_is_documented(site: Path) -> None:
    page = page_text(site, "reference/cli")
    text = _text(page)
    tree = _cli_tree()
    assert len(tree) > 20, "the CLI walk found suspiciously few commands"
    missing = []
    for path, command in tree:
        if f'id="{path.replace(" ", "-")}"' not in page:
            missing.append(path)
            continue
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-") and opt not in text:
                    missing.append(f"{path} {opt}")
    assert not missing, f"CLI commands/options missing from reference/cli.md: {missing}"


def _config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        keys.append(key)
        annotation, suffix = field.annotation, ""
        while True:
            origin, args = typing.get_origin(annotation), typing.get_args(annotation)
            if origin is dict:
                annotation, suffix = args[1], suffix + ".<name>"
            elif origin is list:
                annotation, suffix = args[0], suffix + "[]"
            else:
                break
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_config_keys(annotation, f"{key}{suffix}."))
    return keys


def test_every_config_key_is_documented(site: Path) -> None:
    from podium.config.models import PlatformConfig

    text = _text(page_text(site, "reference/config"))
    keys = _config_keys(PlatformConfig)
    assert "environments.<name>.deployer" in keys and "rules[].provisioner" in keys
    missing = [key for key in keys if key not in text]
    assert not missing, f"config keys missing from reference/config.md: {missing}"


def test_every_config_key_has_a_description() -> None:
    """The generated reference is only as good as the models' descriptions."""
    import reference

    bare = [item.key for item in reference.walk_config() if not item.description]
    assert not bare, f"config keys without a description in podium.config.models: {bare}"


def test_every_exit_code_is_documented(site: Path) -> None:
    from podium.errors import ExitCode

    rows = re.findall(
        r"<tr>\s*<td>(\d+)</td>\s*<td><code>(\w+)</code>", page_text(site, "reference/exit-codes")
    )
    documented = {(int(code), name) for code, name in rows}
    missing = [f"{c.value} {c.name}" for c in ExitCode if (c.value, c.name) not in documented]
    assert not missing, f"exit codes missing from reference/exit-codes.md: {missing}"


def test_every_plugin_has_a_page_with_its_readme_and_settings(site: Path) -> None:
    import reference

    packages = reference.plugin_packages()
    assert {p.slug for p in packages} >= {"local", "aws"}
    problems = []
    for package in packages:
        page_dir = site / "plugins" / package.slug
        if not (page_dir / "index.html").is_file():
            problems.append(f"{package.distribution}: no page")
            continue
        text = _text(page_text(site, f"plugins/{package.slug}"))
        readme = package.directory / "README.md"
        if readme.is_file():
            heading = next(
                (
                    line.lstrip("# ").strip()
                    for line in readme.read_text().splitlines()
                    if line.startswith("#")
                ),
                None,
            )
            if heading and _text(heading) not in text:
                problems.append(
                    f"{package.distribution}: README heading {heading!r} not on the page"
                )
        for name, target in package.entry_points.items():
            try:
                module: Any = importlib.import_module(target.split(":")[0])
            except ImportError:
                continue  # not installed here: the page says so, nothing more to check
            settings = getattr(module, "Settings", None)
            for field_name, field in getattr(settings, "model_fields", {}).items():
                key = field.alias or field_name  # the key users write in [plugins.<name>]
                if key not in text:
                    problems.append(f"{package.distribution}: setting {name}.{key} undocumented")
    assert not problems, "\n".join(problems)


def test_every_first_party_provisioner_shows_its_schema(site: Path) -> None:
    """Each plugin page lists every param and output its provisioners declare."""
    import reference

    from podium.config.models import PluginsSection
    from podium.plugins.manager import PluginManager
    from podium.provisioning.schema import resource_schema

    problems = []
    checked = 0
    for package in reference.plugin_packages():
        text = _text(page_text(site, f"plugins/{package.slug}"))
        for plugin in package.entry_points:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                manager = PluginManager(PluginsSection(allow=[plugin])).load()
            if manager.plugin(plugin).status != "loaded":
                continue  # not installed here: the page says so
            for name, registered in manager.registrations("provisioners").items():
                schema = resource_schema(registered.obj)
                names = [p.name for p in schema.params()] + list(schema.outputs)
                checked += 1
                if f"{name} (type {schema.resource_type})" not in text:
                    problems.append(f"{package.distribution}: no schema section for {name}")
                problems += [
                    f"{package.distribution}: {name}'s {key!r} is not on the page"
                    for key in names
                    if key not in text
                ]
    assert checked >= 14, "the walk found suspiciously few provisioners"
    assert not problems, "\n".join(problems)
