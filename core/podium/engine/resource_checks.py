"""Score files against the schemas of the provisioners their resources match.

Run while the desired graph is built, so ``validate`` and ``plan`` both refuse,
before anything exists, what would otherwise fail only at apply: a param of the
wrong type, and a placeholder naming an output the resource never returns.
Errors point at the Score file (or, for a rule's param, at ``podium.toml``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError, InputError, Location, PluginError, WorkloadError
from podium.provisioning.schema import ResourceSchema, resource_schema
from podium.workload.checks import expandable_fields
from podium.workload.placeholders import PATTERN, split_path

if TYPE_CHECKING:
    from podium.engine.rules import RuleMatch
    from podium.plugins.manager import PluginManager, Registered
    from podium.workload.model import ResourceRequest, Workload

Locate = Callable[[tuple[str | int, ...]], Location | None]


@dataclass(frozen=True)
class Provided:
    """The provisioner a resource request matched: its name and schema."""

    provisioner: str
    schema: ResourceSchema


def provided(registered: Registered, known: dict[str, Provided]) -> Provided:
    """The schema of a registered provisioner, built once per plan (``known`` keeps it).

    Reading the declarations runs no plugin code.
    """
    found = known.get(registered.name)
    if found is None:
        try:
            schema = resource_schema(registered.obj)
        except TypeError as exc:  # a declaration of the wrong kind: the plugin's fault
            raise PluginError(
                f"provisioner {registered.name!r} declares an invalid schema: {exc}",
                plugin=registered.plugin.name,
                distribution=registered.plugin.distribution,
                version=registered.plugin.version,
            ) from exc
        found = known[registered.name] = Provided(registered.name, schema)
    return found


def param_errors(
    plugins: PluginManager,
    registered: Registered,
    schema: ResourceSchema,
    workload: Workload,
    request: ResourceRequest,
    match: RuleMatch,
    locate_config: Locate | None,
) -> list[InputError]:
    """The request's params, merged over its rule's, checked against the params model."""
    if schema.params_model is None:
        return []
    rule_params: Mapping[str, Any] = match.rule.params or {}
    merged = {**rule_params, **request.params}
    # The model is plugin code: a validator that crashes is the plugin's fault, said so.
    problems = plugins.call_attributed(
        registered.plugin, f"{registered.name}.params_model", schema.check_params, merged
    )
    errors: list[InputError] = []
    where = f"resource {request.name!r} ({request.type}, provisioner {registered.name!r})"
    for problem in problems:
        head = problem.path[0] if problem.path else None
        if head is not None and head not in request.params and head in rule_params:
            loc: tuple[str | int, ...] = ("rules", match.index, "params", *problem.path)
            errors.append(
                ConfigError(
                    f"rules[{match.index}] sets a bad param for {where} in "
                    f"{workload.display_path}: {problem.message}",
                    location=locate_config(loc) if locate_config else None,
                    field=".".join(str(p) for p in loc),
                )
            )
            continue
        field_path: tuple[str | int, ...] = ("resources", request.name, "params", *problem.path)
        errors.append(
            WorkloadError(
                f"{where}: {problem.message}",
                location=workload.location(*field_path),
                field=".".join(str(p) for p in field_path),
                hint=f"podium schema resource {request.type} --provisioner {registered.name} "
                "shows its params",
            )
        )
    return errors


def reference_errors(
    workload: Workload, provided_by_uid: Mapping[str, Provided]
) -> list[InputError]:
    """Placeholders ``${resources.<name>.<output>}`` naming an output not declared.

    Only resources whose provisioner declares its outputs are checked; a resource
    whose provisioner declares none (a 0.1 plugin) may be asked for anything.
    """
    checked = {
        name: provided_by_uid[request.uid]
        for name, request in workload.resources.items()
        if request.uid in provided_by_uid and provided_by_uid[request.uid].schema.outputs_declared
    }
    if not checked:
        return []
    errors: list[InputError] = []
    for (name, key), places in output_references(workload).items():
        found = checked.get(name)
        why = found.schema.unknown_output(key) if found is not None else None
        if found is None or why is None:
            continue
        request = workload.resources[name]
        for field_path, inner in places:
            errors.append(
                WorkloadError(
                    f"placeholder ${{{inner}}}: resource {name!r} "
                    f"({request.type}, provisioner {found.provisioner!r}) {why}",
                    location=workload.location(*field_path),
                    field=".".join(str(p) for p in field_path),
                    hint=f"podium schema resource {request.type} --provisioner "
                    f"{found.provisioner} lists its outputs",
                )
            )
    return errors


#: (resource name, output key) -> every (field path, placeholder as written) naming it
OutputReferences = dict[tuple[str, str], list[tuple[tuple[str | int, ...], str]]]


def output_references(workload: Workload) -> OutputReferences:
    """Every ``(resource, output)`` the workload's placeholders name, and where.

    Found once per loaded workload: plan, verify and apply of the same files ask
    again, and a loaded workload never changes.
    """
    cached: OutputReferences | None = workload.__dict__.get("_output_references")
    if cached is not None:
        return cached
    found: OutputReferences = {}
    for field_path, template in expandable_fields(workload.spec):
        if "${resources." not in template:
            continue
        for match in PATTERN.finditer(template):
            inner = match.group(2)
            if inner is None or match.group(1).startswith("$"):
                continue  # "$$", or an escaped "$${...}"
            # split_path handles "\." (a dot inside a key); most paths have none.
            parts = split_path(inner) if "\\" in inner else inner.split(".", 3)
            if len(parts) >= 3 and parts[0] == "resources":
                found.setdefault((parts[1], parts[2]), []).append((field_path, inner))
    workload.__dict__["_output_references"] = found
    return found


def in_file_order(errors: list[InputError]) -> list[InputError]:
    """Errors sorted as a reader meets them: by file, line and column (unlocated last)."""

    def position(error: InputError) -> tuple[int, str, int, int]:
        where = error.location
        if where is None:
            return (1, "", 0, 0)
        return (0, where.path, where.line or 0, where.column or 0)

    return sorted(errors, key=position)


__all__ = [
    "Provided",
    "in_file_order",
    "output_references",
    "param_errors",
    "provided",
    "reference_errors",
]
