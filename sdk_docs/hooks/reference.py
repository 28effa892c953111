"""Generate the reference pages from the code itself: CLI, config, exit codes, plugins.

Used by ``generate.py`` (the MkDocs hook) and by the doc tests, which walk the same
objects to prove nothing is left undocumented. Nothing here is written by hand:
when a command, option, config key or exit code changes, the page changes with it.
"""

from __future__ import annotations

import functools
import inspect
import re
import tomllib
import types
import typing
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

REPO = Path(__file__).resolve().parents[2]
PLUGINS_DIR = REPO / "plugins"


# ---------------------------------------------------------------------- CLI


@dataclass(frozen=True)
class CliEntry:
    """One command of the click tree, with the context click needs to describe it."""

    path: tuple[str, ...]  #: ("podium", "plugins", "list")
    command: click.Command
    ctx: click.Context
    origin: str = "podium"  #: "podium", or the plugin that added it

    @property
    def title(self) -> str:
        return " ".join(self.path)

    @property
    def anchor(self) -> str:
        return "-".join(self.path)


def cli_root_context() -> click.Context:
    """A context for the root group that loads no installed plugin (built-ins only)."""
    from podium.cli.context import CliState
    from podium.cli.main import cli

    return click.Context(cli, info_name="podium", obj=CliState(no_plugins=True))


def walk_cli(
    command: click.Command | None = None,
    ctx: click.Context | None = None,
    path: tuple[str, ...] = ("podium",),
    origin: str = "podium",
) -> Iterator[CliEntry]:
    """Every command and subcommand, depth first, lazy ones imported as the CLI would."""
    if ctx is None:
        ctx = cli_root_context()
        command = ctx.command
    assert command is not None
    yield CliEntry(path, command, ctx, origin)
    if isinstance(command, click.Group):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = command.list_commands(ctx)
        for name in names:
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            yield from walk_cli(sub, sub_ctx, (*path, name), origin)


def plugin_cli_entries() -> list[CliEntry]:
    """Commands that installed plugins add through ``podium_cli_commands``."""
    from podium.cli.main import cli
    from podium.plugins.manager import PluginManager

    manager = PluginManager(load_entrypoints=True).load()
    root = cli_root_context()
    entries: list[CliEntry] = []
    for name, registered in sorted(manager.registrations("cli_commands").items()):
        command = registered.obj.command
        ctx = click.Context(command, info_name=name, parent=root)
        entries.extend(walk_cli(command, ctx, ("podium", name), registered.plugin.name))
    del cli
    return entries


def _param_type(param: click.Parameter) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        return "flag"
    kind = param.type
    if isinstance(kind, click.Choice):
        return " \\| ".join(f"`{c}`" for c in kind.choices)
    return kind.name.lower()


def _clean(text: str | None) -> str:
    """One line of Markdown table text (reST double backticks made single)."""
    text = re.sub(r"``([^`]+)``", r"`\1`", text or "")
    return " ".join(text.split()).replace("|", "\\|")


def _doc(text: str) -> str:
    """A docstring as Markdown paragraphs."""
    return re.sub(r"``([^`]+)``", r"`\1`", inspect.cleandoc(text))


def _unset(value: object) -> bool:
    """click 8.2+ marks "no default given" with a sentinel rather than None."""
    return type(value).__name__ == "Sentinel" or repr(value).endswith("UNSET")


def _command_markdown(entry: CliEntry, level: int) -> list[str]:
    command, ctx = entry.command, entry.ctx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [f"{'#' * level} `{entry.title}` {{ #{entry.anchor} }}", ""]
    if entry.origin != "podium":
        lines += [f"*Added by the plugin `{entry.origin}`.*", ""]
    lines += ["```text", f"{entry.title} {usage}".rstrip(), "```", ""]
    help_text = inspect.cleandoc(command.help or command.short_help or "")
    if help_text:
        lines += [help_text.replace("\b\n", ""), ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    if arguments:
        lines += ["| argument | type | required |", "|---|---|---|"]
        for arg in arguments:
            lines.append(
                f"| `{arg.human_readable_name}` | {_param_type(arg)} | "
                f"{'yes' if arg.required else 'no'}{', repeatable' if arg.nargs == -1 else ''} |"
            )
        lines.append("")
    if options:
        lines += [
            "| option | type | default | environment | description |",
            "|---|---|---|---|---|",
        ]
        for opt in options:
            names = ", ".join(f"`{n}`" for n in (*opt.opts, *opt.secondary_opts))
            default = (
                ""
                if _unset(opt.default) or opt.default in (None, False, ()) or callable(opt.default)
                else f"`{opt.default}`"
            )
            envvar = f"`{opt.envvar}`" if isinstance(opt.envvar, str) else ""
            repeat = (
                " (repeatable)" if opt.multiple and "repeatable" not in (opt.help or "") else ""
            )
            lines.append(
                f"| {names} | {_param_type(opt)} | {default} | {envvar} | "
                f"{_clean(opt.help)}{repeat} |"
            )
        lines.append("")
    if isinstance(command, click.Group):
        subs = [
            name
            for name in command.list_commands(ctx)
            if (sub := command.get_command(ctx, name)) is not None and not sub.hidden
        ]
        if subs:
            links = ", ".join(f"[`{name}`](#{entry.anchor}-{name})" for name in subs)
            lines += [f"Subcommands: {links}.", ""]
    return lines


#: the rules every command follows, stated once at the top of the CLI reference
CLI_CONVENTIONS = [
    "## Conventions",
    "",
    "- **`-e ENV` and `--json`** go before or after the subcommand: `podium -e prod status` "
    "is `podium status -e prod`. Every command that works on an environment takes `-e` "
    "(the subcommand's own wins, then the root's, then `PODIUM_ENV`, then the only "
    "environment, else `dev`); every command takes `--json`, which puts one JSON document "
    "on stdout and nothing else there (errors go to stderr as JSON).",
    "- **Confirmation** (`apply`, `up`, `destroy`): a plan that deletes or replaces "
    "something asks first, default no, when a person can answer: stdin and stderr are a "
    "terminal and the output is not `--json`. Creates and updates never ask; `--yes` "
    "answers yes; applying a saved plan file never asks (reviewing it was the approval). "
    "Without a terminal nothing asks and the command does what it says.",
    "- **Exit 130**: the command was interrupted (Ctrl-C), or a confirmation question was "
    "answered no (then nothing was changed).",
    "- **Output**: on a terminal, colour, and a live progress line on stderr during long "
    "waits (the change that has run longest, with its seconds). Piped or under `--json`, "
    "neither; `NO_COLOR` set to anything turns colour off (https://no-color.org).",
    "- **Hints** that name a `podium` command repeat the `-c CONFIG` and `-e ENV` this "
    "invocation used, so they can be pasted as they are.",
    "",
]


def cli_markdown() -> str:
    """The CLI reference page."""
    lines = [
        "# CLI reference",
        "",
        "Generated from the `podium` click application itself (`podium.cli.main:cli`), "
        "so it always matches the installed version. Every command also answers `--help`. "
        "Exit codes are listed in [Exit codes](exit-codes.md).",
        "",
        *CLI_CONVENTIONS,
    ]
    for entry in walk_cli():
        lines += _command_markdown(entry, 2 if len(entry.path) <= 2 else 3)
    try:
        extra = plugin_cli_entries()
    except Exception as exc:  # the built-in reference must not depend on plugins loading
        extra = []
        lines += [f"!!! note\n    Plugin commands could not be listed: {_clean(str(exc))}", ""]
    if extra:
        lines += ["## Commands added by installed plugins", ""]
        for entry in extra:
            lines += _command_markdown(entry, 3)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- config


@dataclass(frozen=True)
class ConfigKey:
    """One documented key of ``podium.toml``: dotted path, type, default, description."""

    key: str
    type: str
    default: str
    description: str
    section: str


def _type_text(annotation: Any) -> str:
    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_text(a) for a in args if a is not type(None))
    if origin in (list, tuple):
        return f"array of {_type_text(args[0])}" if args else "array"
    if origin is dict:
        return f"table of {_type_text(args[1])}" if len(args) == 2 else "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    if annotation is Any:
        return "any"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _default_text(field: Any) -> str:
    from pydantic_core import PydanticUndefined

    if field.is_required():
        return "required"
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return ""
        if hasattr(value, "model_dump"):
            return ""
        if (
            isinstance(value, dict)
            and value
            and all(hasattr(v, "model_dump") for v in value.values())
        ):
            return "`" + ", ".join(f"[environments.{k}]" for k in value) + "`"
        return f"`{value!r}`" if value not in ({}, []) else "empty"
    if field.default is PydanticUndefined or field.default is None:
        return ""
    if isinstance(field.default, bool):
        return f"`{str(field.default).lower()}`"
    if isinstance(field.default, str):
        return f'`"{field.default}"`'
    return f"`{field.default}`"


def _model_of(annotation: Any) -> tuple[type[Any] | None, str]:
    """The section model inside an annotation and how its keys are written under it."""
    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if origin is dict and len(args) == 2:
        model, suffix = _model_of(args[1])
        return model, ".<name>" + suffix
    if origin is list and args:
        model, suffix = _model_of(args[0])
        return model, "[]" + suffix
    return None, ""


#: Summaries of top-level sections whose models carry no description of their own.
_SECTION_SUMMARIES = {
    "platform": "The platform's name and where its local files and default workloads are.",
    "state": "Where state is kept (the state backend) and how long lock leases last.",
    "secrets": "The secret store behind `podium secrets`, and the key that seals state.",
    "telemetry": "Where Podium's own spans and events go.",
    "engine": "How apply runs: parallelism, retries, timeouts.",
}


def walk_config(model: type[Any] | None = None, prefix: str = "") -> Iterator[ConfigKey]:
    """Every key of ``podium.toml``, nested sections included, in declaration order."""
    if model is None:
        from podium.config.models import PlatformConfig

        model = PlatformConfig
    for name, field in model.model_fields.items():
        key = field.alias or name
        dotted = f"{prefix}{key}"
        nested, suffix = _model_of(field.annotation)
        description = _clean(field.description)
        if not description and nested is not None:
            description = _clean((nested.__doc__ or "").split("\n\n")[0])
        if not description and not prefix:
            description = _SECTION_SUMMARIES.get(key, "")
        yield ConfigKey(
            dotted,
            _type_text(field.annotation),
            _default_text(field),
            description,
            prefix.split(".", 1)[0].split("[", 1)[0] or key,
        )
        if nested is not None:
            yield from walk_config(nested, f"{dotted}{suffix}.")
    if model.model_config.get("extra") == "allow" and prefix == "plugins.":
        yield ConfigKey(
            "plugins.<name>",
            "table",
            "",
            "Settings of the plugin `<name>`, validated by its `Settings` model; "
            "`PODIUM_PLUGIN_<NAME>_<KEY>` environment variables override them. "
            "See each plugin's page.",
            "plugins",
        )


_CONFIG_EXAMPLE = """\
[platform]
name = "acme"
workloads = ["services/*/score.yaml"]

[plugins]
allow = ["local>=0.1,<0.2", "aws>=0.1,<0.2"]

[plugins.aws]
region = "eu-west-1"

[environments.dev]
deployer = "local"

[environments.prod]
tier = "prod"
deployer = "aws-ecs"
rollback_on_failure = true

[[rules]]
type = "postgres"
provisioner = "local-postgres"

[[rules]]
type = "postgres"
environment = "prod"
provisioner = "aws-rds-postgres"

[policies]
"builtin.no-latest-image" = "mandatory"

[state]
backend = "sqlite"
"""


def config_markdown() -> str:
    """The config reference page."""
    from podium.config.models import PlatformConfig

    lines = [
        "# Config reference",
        "",
        "Every key of `podium.toml`, generated from the pydantic models in "
        "`podium.config.models` (the same models that validate the file, so an unknown "
        "key is an error that names its file and line). `podium schema platform` prints "
        "them as JSON Schema for editors.",
        "",
        "A sketch that touches most sections:",
        "",
        "```toml",
        _CONFIG_EXAMPLE.rstrip(),
        "```",
        "",
    ]
    keys = list(walk_config())
    for section in PlatformConfig.model_fields:
        field = PlatformConfig.model_fields[section]
        nested, _ = _model_of(field.annotation)
        heading = {
            "environments": "[environments.<name>]",
            "rules": "[[rules]]",
            "policies": "[policies]",
        }.get(section, f"[{section}]")
        lines += [f"## `{heading}` {{ #{section} }}", ""]
        doc = _doc(nested.__doc__) if nested is not None and nested.__doc__ else ""
        if doc and not doc.startswith(("A base class", "Usage docs")):
            lines += [doc, ""]
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        for item in keys:
            if item.section == section:
                lines.append(
                    f"| `{item.key}` | {item.type} | {item.default} | {item.description} |"
                )
        lines.append("")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------- exit codes


def exit_code_rows() -> list[tuple[int, str, str, list[str]]]:
    """(code, name, meaning, error classes that exit with it) for every ExitCode."""
    import podium.errors as errors
    from podium.errors import ExitCode, PodiumError

    source = inspect.getsource(ExitCode)
    meanings = dict(re.findall(r"(\w+)\s*=\s*\d+\s*#:\s*(.+)", source))
    raisers: dict[int, list[str]] = {}
    for name, value in vars(errors).items():
        if isinstance(value, type) and issubclass(value, PodiumError):
            raisers.setdefault(int(value.exit_code), []).append(name)
    meanings.setdefault("OK", "success")
    return [
        (int(code), code.name, meanings.get(code.name, ""), sorted(raisers.get(int(code), [])))
        for code in ExitCode
    ]


def exit_codes_markdown() -> str:
    lines = [
        "# Exit codes",
        "",
        "Every error Podium raises on purpose is a `podium.errors.PodiumError` whose class "
        "decides the exit code, so a script can tell a policy block from a lock conflict "
        "without parsing messages. With `--json` the error is printed as JSON with an "
        "`exit_code` field. Generated from `podium.errors.ExitCode`.",
        "",
        "| code | name | meaning | raised as |",
        "|---|---|---|---|",
    ]
    for code, name, meaning, classes in exit_code_rows():
        raised = ", ".join(f"`{c}`" for c in classes)
        lines.append(f"| {code} | `{name}` | {_clean(meaning)} | {raised} |")
    lines += [
        "",
        "`130` is returned when the command is interrupted (Ctrl-C) or a confirmation "
        "question is answered no (nothing was changed then); under `--json` the error on "
        'stderr says so with `"exit_code": 130`.',
        "",
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ plugins


@dataclass(frozen=True)
class PluginPackage:
    """A plugin distribution in this repository (``plugins/<dir>/``)."""

    directory: Path
    distribution: str
    version: str
    description: str
    entry_points: dict[str, str]  #: plugin name -> "module:attr"

    @property
    def slug(self) -> str:
        return self.directory.name


def plugin_packages(root: Path = PLUGINS_DIR) -> list[PluginPackage]:
    found: list[PluginPackage] = []
    for pyproject in sorted(root.glob("*/pyproject.toml")):
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, tomllib.TOMLDecodeError):
            continue
        found.append(
            PluginPackage(
                directory=pyproject.parent,
                distribution=str(project.get("name", pyproject.parent.name)),
                version=str(project.get("version", "")),
                description=str(project.get("description", "")),
                entry_points=dict(project.get("entry-points", {}).get("podium.plugins", {})),
            )
        )
    return found


_RELATIVE_LINK = re.compile(r"(!?)\[([^\]]*)\]\((?!https?://|mailto:|#)([^)\s]+)[^)]*\)")


def _readme_for_site(text: str, package: PluginPackage) -> str:
    """A plugin README as a page section: headings pushed down, repo-relative links made text.

    A README links to files beside it (``src/...``, ``tests/...``) that are not part of
    the site; under ``--strict`` such links would fail the build, so they become code.
    """

    def link(match: re.Match[str]) -> str:
        bang, label, target = match.groups()
        if bang:
            return f"*(image: {label or target})*"
        return f"{label} (`plugins/{package.slug}/{target}`)"

    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            line = "#" + line
        elif not fenced:
            line = _RELATIVE_LINK.sub(link, line)
        out.append(line)
    return "\n".join(out)


def _settings_table(model: Any) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        lines.append(
            f"| `{field.alias or name}` | {_type_text(field.annotation)} | "
            f"{_default_text(field)} | {_clean(field.description)} |"
        )
    return lines


@functools.cache
def _loaded_alone(name: str) -> Any:
    """A plugin manager that loaded only the plugin ``name``, through its entry point."""
    from podium.config.models import PluginsSection
    from podium.plugins.manager import PluginManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        manager = PluginManager(PluginsSection(allow=[name]), load_entrypoints=True).load()
        info = manager.plugin(name)
    if info.status != "loaded":
        raise RuntimeError(info.error_message or info.status)
    return manager


def _registrations(name: str, module: Any) -> dict[str, list[str]]:
    """What the plugin registers, read by loading it alone, through its entry point."""
    manager = _loaded_alone(name)
    info = manager.plugin(name)
    shown: dict[str, list[str]] = {}
    for kind, names in info.registrations.items():
        if not names:
            continue
        registered = manager.registrations(kind)
        shown[kind] = []
        for reg_name in names:
            obj = registered[reg_name].obj if reg_name in registered else None
            served = getattr(obj, "resource_type", None) if kind == "provisioners" else None
            shown[kind].append(f"`{reg_name}`" + (f" (type `{served}`)" if served else ""))
    return shown


def plugin_markdown(package: PluginPackage) -> str:
    """One plugin's page: generated facts (entry points, settings, registrations) + README."""
    import importlib

    lines = [f"# {package.distribution}", ""]
    if package.description:
        lines += [f"*{_clean(package.description)}*", ""]
    lines += [
        f"Distribution `{package.distribution}` {package.version}, in `plugins/{package.slug}/`. "
        f"Install with `pip install {package.distribution}`.",
        "",
    ]
    for name, target in package.entry_points.items():
        lines += [f"## Plugin `{name}`", "", f'Entry point `{name} = "{target}"`.', ""]
        module_name = target.split(":", 1)[0]
        try:
            module = importlib.import_module(module_name)
            if ":" in target:
                module = getattr(module, target.split(":", 1)[1])
        except Exception as exc:  # not installed where the docs build: say so, keep building
            lines += [
                "!!! note",
                f"    `{module_name}` could not be imported while building these docs "
                f"({_clean(type(exc).__name__)}); its settings and registrations are not listed.",
                "",
            ]
            continue
        api = getattr(module, "PODIUM_API", None)
        if api:
            lines += [f"Supports plugin API `{api}`.", ""]
        settings = getattr(module, "Settings", None)
        if settings is not None and hasattr(settings, "model_fields"):
            lines += [
                f"### Settings: `[plugins.{name}]`",
                "",
                f"Environment variables `PODIUM_PLUGIN_{name.upper().replace('-', '_')}_<KEY>` "
                "override the table.",
                "",
                *_settings_table(settings),
                "",
            ]
        try:
            registrations = _registrations(name, module)
        except Exception as exc:
            lines += [
                "!!! note",
                f"    Registrations could not be listed: {_clean(str(exc))[:300]}",
                "",
            ]
            continue
        if registrations:
            lines += ["### Registrations", "", "| kind | names |", "|---|---|"]
            for kind, names in registrations.items():
                lines.append(f"| {kind.replace('_', ' ')} | {', '.join(names)} |")
            lines.append("")
        lines += resource_schemas_markdown(name)
    readme = package.directory / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if text.strip():
        lines += [_readme_for_site(text, package), ""]
    else:
        lines += ["*This plugin has no README yet.*", ""]
    return "\n".join(lines) + "\n"


def provisioner_schemas(plugin: str) -> dict[str, Any]:
    """The schema of every provisioner the plugin registers, by registration name."""
    from podium.provisioning.schema import resource_schema

    manager = _loaded_alone(plugin)
    return {
        name: resource_schema(registered.obj)
        for name, registered in manager.registrations("provisioners").items()
        if registered.plugin.name == plugin
    }


def _cell(text: str) -> str:
    """Table text that may hold ``<name>``: shown as written, not taken for an HTML tag."""
    return _clean(text).replace("<", "&lt;")


def resource_schemas_markdown(plugin: str) -> list[str]:
    """Each provisioner's params and outputs, from the same schema the core checks."""
    schemas = provisioner_schemas(plugin)
    if not schemas:
        return []
    lines = [
        "### Resource schemas",
        "",
        "What each provisioner accepts as params and returns as outputs (the names "
        "`${resources.<name>.<output>}` may use). `validate` and `plan` check Score files "
        "against them; `podium schema resource TYPE` prints them, `--json` as JSON Schema. "
        "See [Resource schemas](../guides/resource-schemas.md).",
        "",
    ]
    for name, schema in schemas.items():
        lines += [f"#### `{name}` (type `{schema.resource_type}`)", ""]
        params = schema.params()
        if schema.params_model is None:
            lines += ["Params are not declared (not checked).", ""]
        elif not params:
            lines += [f"No params of its own (others are {schema.unknown_params}).", ""]
        else:
            lines += [
                f"Params (unknown ones are {schema.unknown_params}):",
                "",
                "| param | type | default | flags | description |",
                "|---|---|---|---|---|",
            ]
            for param in params:
                flags = [
                    flag
                    for flag, on in (
                        ("forces replacement", param.forces_replacement),
                        ("platform only", param.platform_only),
                    )
                    if on
                ]
                default = "required" if param.required else f"`{param.default!r}`"
                lines.append(
                    f"| `{param.name}` | {_clean(param.type)} | {_clean(default)} | "
                    f"{', '.join(flags)} | {_cell(param.description)} |"
                )
            lines.append("")
        if not schema.outputs_declared:
            lines += ["Outputs are not declared (placeholders naming them are not checked).", ""]
            continue
        lines += ["| output | type | flags | description |", "|---|---|---|---|"]
        for output_name, output in schema.outputs.items():
            flags = [
                f
                for f, on in (("sensitive", output.sensitive), ("optional", output.optional))
                if on
            ]
            lines.append(
                f"| `{output_name}` | {output.type_name} | {', '.join(flags)} | "
                f"{_cell(output.description)} |"
            )
        lines.append("")
    return lines


def plugins_index_markdown(packages: list[PluginPackage]) -> str:
    lines = [
        "# Plugins",
        "",
        "Plugins are separate distributions that register provisioners, deployers, secret "
        "stores, policy packs, telemetry sinks, state backends and CLI commands through an "
        "entry point in the `podium.plugins` group. These ship from this repository:",
        "",
        "| distribution | plugins | what it does |",
        "|---|---|---|",
    ]
    for package in packages:
        names = ", ".join(f"`{n}`" for n in package.entry_points) or "-"
        lines.append(
            f"| [{package.distribution}]({package.slug}.md) | {names} | "
            f"{_clean(package.description)} |"
        )
    lines += [
        "",
        "To write your own, follow the [plugin-author guide](../guides/plugin-author.md) or "
        "start from `podium plugin new NAME`.",
        "",
    ]
    return "\n".join(lines) + "\n"
