"""``podium schema platform|workload|plan|resource``: the JSON Schemas of what users write
and of the saved plans CI passes between jobs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from podium.cli.context import get_state
from podium.cli.options import json_option
from podium.errors import NotFoundError
from podium.plugins.kinds import PROVISIONERS

if TYPE_CHECKING:
    from podium.plugins.manager import Registered
    from podium.provisioning.contract import Provisioner
    from podium.provisioning.schema import ResourceSchema

_OUT_HELP = "Write to a file instead of stdout."


@click.group("schema")
def schema_group() -> None:
    """Print JSON Schemas: of podium.toml, of Score files, of saved plans, of a resource
    type's provisioners."""


def _write(ctx: click.Context, schema: dict[str, Any], out: str | None) -> None:
    text = json.dumps(schema, indent=2)
    if out:
        Path(out).write_text(text + "\n")
    else:
        get_state(ctx).echo_document(text)


@schema_group.command("platform")
@click.option("--out", type=click.Path(dir_okay=False), help=_OUT_HELP)
@click.pass_context
def platform_cmd(ctx: click.Context, out: str | None) -> None:
    """The JSON Schema of podium.toml (for editors)."""
    from podium.config.loader import platform_json_schema

    _write(ctx, platform_json_schema(), out)


@schema_group.command("workload")
@click.option("--out", type=click.Path(dir_okay=False), help=_OUT_HELP)
@click.pass_context
def workload_cmd(ctx: click.Context, out: str | None) -> None:
    """The JSON Schema of Score files (score.dev v1b1)."""
    from podium.workload.schema import workload_json_schema

    _write(ctx, workload_json_schema(), out)


@schema_group.command("plan")
@click.option("--out", type=click.Path(dir_okay=False), help=_OUT_HELP)
@click.pass_context
def plan_cmd(ctx: click.Context, out: str | None) -> None:
    """The JSON Schema of saved plans ('podium plan --out FILE'), for CI tools and bots."""
    from podium.engine.plan_schema import plan_json_schema

    _write(ctx, plan_json_schema(), out)


@schema_group.command("resource")
@click.argument("resource_type", metavar="TYPE")
@click.option(
    "--provisioner",
    "provisioner",
    metavar="NAME",
    help="Only this provisioner's schema (default: every provisioner of TYPE).",
)
@json_option
@click.pass_context
def resource_cmd(ctx: click.Context, resource_type: str, provisioner: str | None) -> None:
    """The params and outputs a resource type takes, per provisioner that serves it.

    Each provisioner's schema lists its params (generated from its pydantic model:
    type, default, whether a change forces replacement, whether only the platform's
    rules may set it) and the outputs placeholders may name
    (``${resources.<name>.<output>}``), sensitive ones marked. With ``--json``: JSON
    Schema documents, the flags as ``x-podium-*`` keywords and computed outputs
    ``readOnly``.
    """
    from podium.provisioning.schema import resource_schema

    state = get_state(ctx)
    found = _provisioners(state.platform().plugins.registrations(PROVISIONERS), resource_type)
    if provisioner is not None:
        if provisioner not in found:
            served = ", ".join(found) or "none"
            raise NotFoundError(
                f"no provisioner {provisioner!r} for type {resource_type!r}; "
                f"its provisioners: {served}"
            )
        found = {provisioner: found[provisioner]}
    schemas = {name: resource_schema(registered.obj) for name, registered in found.items()}
    if state.json_output:
        state.echo_json(
            {
                "type": resource_type,
                "provisioners": [
                    {**schema.json_schema(), "x-podium-plugin": found[name].plugin.name}
                    for name, schema in schemas.items()
                ],
            }
        )
        return
    blocks = [_text(schema, found[name].plugin.name) for name, schema in schemas.items()]
    click.echo("\n\n".join(blocks))


def _provisioners(
    registered: dict[str, Registered[Provisioner]], resource_type: str
) -> dict[str, Registered[Provisioner]]:
    """The provisioners serving ``resource_type``, or NotFoundError naming the types there are."""
    found = {
        name: item
        for name, item in sorted(registered.items())
        if getattr(item.obj, "resource_type", None) == resource_type
    }
    if not found:
        types = sorted(
            {str(getattr(item.obj, "resource_type", "?")) for item in registered.values()}
        )
        raise NotFoundError(
            f"no provisioner serves resource type {resource_type!r}; "
            f"types served: {', '.join(types) or 'none'}",
            hint="podium plugins list shows the loaded plugins and what they register",
        )
    return found


def _text(schema: ResourceSchema, plugin: str) -> str:
    classes = ", ".join(schema.resource_classes)
    lines = [
        f"{schema.resource_type}: provisioner {schema.provisioner} "
        f"(plugin {plugin}; classes: {'all' if classes == '*' else classes}"
        f"{'; holds data' if schema.holds_data else ''})"
    ]
    params = schema.params()
    if schema.params_model is None:
        lines.append("  params: not declared (unchecked)")
    else:
        lines.append(f"  params (unknown ones are {schema.unknown_params}):")
    if params:
        rows = [
            (
                p.name,
                p.type,
                "required" if p.required else json.dumps(p.default, default=str),
                ", ".join(
                    flag
                    for flag, on in (
                        ("forces replacement", p.forces_replacement),
                        ("platform only", p.platform_only),
                    )
                    if on
                ),
                p.description,
            )
            for p in params
        ]
        lines += _table(("name", "type", "default", "flags", "description"), rows)
    elif schema.params_model is not None:
        lines.append("    none")
    if not schema.outputs_declared:
        lines.append("  outputs: not declared (placeholders naming them are not checked)")
        return "\n".join(lines)
    lines.append("  outputs:")
    outputs = [
        (
            name,
            out.type_name,
            ", ".join(
                flag
                for flag, on in (
                    ("sensitive", out.sensitive or out.live),
                    ("live", out.live),
                    ("optional", out.optional),
                )
                if on
            ),
            out.description,
        )
        for name, out in schema.outputs.items()
    ]
    lines += _table(("name", "type", "flags", "description"), outputs)
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return [
        "    "
        + "  ".join(
            str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in [header, *rows]
    ]
