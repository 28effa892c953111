"""``podium plugin new``: create a plugin package that passes its own tests out of the box.

The files come from ``podium/templates/plugin/`` (package data, ``*.tmpl``) with
``{{key}}`` placeholders; one module, one test file, one settings block and one
hook per chosen domain are put together here. No template engine is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import click

from podium.cli.context import get_state
from podium.cli.options import json_option
from podium.errors import InputError
from podium.version import __version__

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Domain:
    """What one domain adds to the generated package."""

    name: str
    kind: str  #: registration kind, as in ``podium plugins list``
    registration: str  #: registered name, with ``{{name}}`` placeholders
    what: str  #: one line for the README
    settings_example: str


DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain(
            "provisioning",
            "provisioners",
            "{{name}}-dir",
            "provisioner for `volume` resources, kept as directories",
            'root = "/srv/volumes"          # where volumes are created',
        ),
        Domain(
            "deployment",
            "deployers",
            "{{name}}-logfile",
            "deployer that records each workload's rendered manifest and a deploy log",
            "log_lines = 100                # deploy history kept per workload",
        ),
        Domain(
            "security",
            "policy_packs",
            "{{name}}",
            "policy pack: every workload must carry an owner annotation",
            'required_annotation = "team"   # metadata.annotations key every workload needs',
        ),
        Domain(
            "observability",
            "telemetry_sinks",
            "{{name}}-jsonl",
            "telemetry sink that appends every platform event to a JSON-lines file",
            'events_file = "events.jsonl"   # where the telemetry sink writes',
        ),
    )
}
DEFAULT_DOMAINS = ("provisioning", "deployment")


def _template_root() -> Traversable:
    return resources.files("podium").joinpath("templates", "plugin")


def _render(text: str, values: dict[str, str], source: str) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template {source} uses unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


def _podium_requirement() -> str:
    """``podium>=0.1,<0.2``: the running minor series, which keeps the plugin API stable."""
    major, minor = (int(part) for part in __version__.split(".")[:2])
    return f"podium>={major}.{minor},<{major}.{minor + 1}"


def _values(name: str, domains: Sequence[str]) -> dict[str, str]:
    root = _template_root()
    package = "podium_" + name.replace("-", "_")
    chosen = [DOMAINS[d] for d in domains]
    base = {"name": name, "package": package}

    def fragment(domain: str, part: str) -> str:
        path = f"fragments/{domain}.{part}"
        file = root.joinpath(*path.split("/"))
        if part == "imports" and not file.is_file():  # only domains that need one have it
            return ""
        return _render(file.read_text("utf-8"), base, path)

    registrations = {d.kind: [_render(d.registration, base, "DOMAINS")] for d in chosen}
    table = ["| kind | name | what it does |", "|---|---|---|"] + [
        f"| {d.kind.replace('_', ' ')} | `{_render(d.registration, base, 'DOMAINS')}` | {d.what} |"
        for d in chosen
    ]
    usage = _usage(name, domains)
    return {
        **base,
        "distribution": f"podium-{name}",
        "env_name": name.upper().replace("-", "_"),
        "summary": "; ".join(d.what.split(":")[0].split(",")[0] for d in chosen),
        "podium_requirement": _podium_requirement(),
        "imports": "".join(fragment(d, "imports") for d in domains),
        "settings_fields": "".join(fragment(d, "settings") for d in domains).rstrip("\n")
        or "    pass",
        "hooks": "".join(fragment(d, "hooks") for d in domains).rstrip("\n") + "\n",
        "expected_registrations": repr(dict(sorted(registrations.items()))),
        "registrations_table": "\n".join(table),
        "settings_example": "\n".join(d.settings_example for d in chosen),
        "usage": usage,
    }


def _usage(name: str, domains: Sequence[str]) -> str:
    lines = ["```toml"]
    if "deployment" in domains:
        lines += ["[environments.dev]", f'deployer = "{name}-logfile"', ""]
    if "provisioning" in domains:
        lines += ["[[rules]]", 'type = "volume"', f'provisioner = "{name}-dir"', ""]
    if "security" in domains:
        lines += ["[policies]", f'"{name}" = "mandatory"   # or advisory / off', ""]
    if "observability" in domains:
        lines += ["[telemetry]", f'sinks = ["{name}-jsonl"]', ""]
    while lines[-1] == "":
        lines.pop()
    lines += ["```", "", "then `podium plan` and `podium up` as usual."]
    if "provisioning" in domains:
        lines += [
            "",
            f"`podium schema resource volume --provisioner {name}-dir` shows the params a",
            "workload may set (`mode`) and the outputs it can use (`source`, `path`, `mode`).",
        ]
    return "\n".join(lines)


def _files(domains: Sequence[str]) -> list[str]:
    """Template paths to render (relative to the template root, without ``.tmpl``)."""
    files = [
        "pyproject.toml",
        "README.md",
        "tox.ini",
        "src/__package__/__init__.py",
        "src/__package__/py.typed",
        "src/__package__/plugin.py",
        "tests/test_plugin.py",
    ]
    for domain in domains:
        files += [f"src/__package__/{domain}.py", f"tests/test_{domain}.py"]
    if {"provisioning", "deployment"} <= set(domains):
        files.append("tests/test_end_to_end.py")
    return files


def check_name(name: str) -> str:
    """A plugin name: lowercase words joined by ``-``; becomes ``podium-NAME`` / ``podium_NAME``."""
    if name.startswith("podium-") or name.startswith("podium_"):
        raise InputError(
            f"plugin name {name!r} should not start with 'podium-'",
            field="NAME",
            hint=f"use 'podium plugin new {name[7:]}'; the distribution is named podium-NAME",
        )
    if not _NAME.fullmatch(name) or len(name) > 40:
        raise InputError(
            f"plugin name {name!r} is invalid",
            field="NAME",
            hint="use lowercase letters and digits, words joined by '-' (e.g. 'acme-dns')",
        )
    return name


def create_plugin(
    name: str,
    directory: Path | str = ".",
    domains: Iterable[str] = DEFAULT_DOMAINS,
    *,
    force: bool = False,
) -> Path:
    """Write the package ``podium-NAME/`` under ``directory``; return its path.

    ``domains`` picks the example registrations (any of ``provisioning``,
    ``deployment``, ``security``, ``observability``). An existing non-empty
    target is refused unless ``force``.
    """
    check_name(name)
    chosen = list(dict.fromkeys(domains)) or list(DEFAULT_DOMAINS)
    unknown = [d for d in chosen if d not in DOMAINS]
    if unknown:
        raise InputError(
            f"unknown domain {unknown[0]!r}",
            field="--domain",
            hint=f"choose from {', '.join(DOMAINS)}",
        )
    chosen = [d for d in DOMAINS if d in chosen]  # a stable order, whatever the command line
    target = Path(directory) / f"podium-{name}"
    if target.exists() and any(target.iterdir()) and not force:
        raise InputError(
            f"{target} already exists and is not empty",
            hint="choose another --dir, remove it, or pass --force to overwrite the files",
        )
    values = _values(name, chosen)
    root = _template_root()
    for relative in _files(chosen):
        source = root.joinpath(*f"{relative}.tmpl".split("/"))
        text = _render(source.read_text("utf-8"), values, relative)
        out = target / relative.replace("__package__", values["package"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return target


@click.group("plugin")
def plugin_group() -> None:
    """Tools for plugin authors."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Directory in which to create podium-NAME/.",
)
@click.option(
    "--domain",
    "domains",
    multiple=True,
    type=click.Choice(list(DOMAINS)),
    help="Add an example registration for this domain (repeatable; "
    "default: provisioning and deployment).",
)
@click.option("--force", is_flag=True, help="Write into an existing, non-empty directory.")
@json_option
@click.pass_context
def plugin_new_cmd(
    ctx: click.Context, name: str, directory: str, domains: tuple[str, ...], force: bool
) -> None:
    """Create a plugin package: pyproject with the entry point, settings, hooks, tests, README."""
    state = get_state(ctx)
    target = create_plugin(name, directory, domains or DEFAULT_DOMAINS, force=force)
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    if state.json_output:
        state.echo_json({"path": str(target), "files": files})
        return
    click.echo(f"created {target}")
    for file in files:
        click.echo(f"  {file}")
    click.echo(f"next:\n  cd {target}\n  pip install -e '.[test]'\n  pytest\n  podium plugins list")
