"""Score files against the schemas of the provisioners their resources match.

Run while the desired graph is built, so ``validate`` and ``plan`` both refuse,
before anything exists, what would otherwise fail only at apply: a param of the
wrong type, and a placeholder naming an output the resource never returns.
Errors point at the Score file (or, for a rule's param, at ``podium.toml``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError, InputError, Location, PluginError, WorkloadError
from podium.provisioning.param_problems import ParamProblem
from podium.provisioning.schema import ResourceSchema, resource_schema
from podium.workload.checks import expandable_fields
from podium.workload.placeholders import PATTERN, split_path

if TYPE_CHECKING:
    from podium.engine.rules import RuleMatch
    from podium.plugins.manager import PluginManager, Registered
    from podium.provisioning.contract import Provisioner
    from podium.workload.model import ResourceRequest, Workload

Locate = Callable[[tuple[str | int, ...]], Location | None]
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Provided:
    """The provisioner a resource request matched: its name and schema."""

    provisioner: str
    schema: ResourceSchema


@dataclass(frozen=True)
class Matched:
    """One resource request of a workload and what fulfils it."""

    request: ResourceRequest
    registered: Registered[Provisioner]
    schema: ResourceSchema
    match: RuleMatch


def provided(registered: Registered[Provisioner], known: dict[str, Provided]) -> Provided:
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


def workload_errors(
    plugins: PluginManager,
    workload: Workload,
    matched: Sequence[Matched],
    provided_by_uid: Mapping[str, Provided],
    locate_config: Locate | None,
) -> list[InputError]:
    """Every param and placeholder of ``workload`` that does not fit, in file order."""
    errors = param_errors(plugins, workload, matched, locate_config)
    errors += reference_errors(workload, provided_by_uid)
    return in_file_order(errors)


def param_errors(
    plugins: PluginManager,
    workload: Workload,
    matched: Sequence[Matched],
    locate_config: Locate | None,
) -> list[InputError]:
    """Each request's params, merged over its rule's, checked against its params model."""
    by_provisioner: dict[str, list[Matched]] = {}
    for item in matched:
        if item.schema.params_model is not None:
            by_provisioner.setdefault(item.registered.name, []).append(item)
    errors: list[InputError] = []
    for name, items in by_provisioner.items():
        # The model is plugin code: a validator that crashes is the plugin's fault, said
        # so. One attributed call per provisioner and workload keeps large graphs cheap.
        failed: list[tuple[int, list[ParamProblem]]] = plugins.call_attributed(
            items[0].registered.plugin, f"{name}.params_model", _check_all, items[0].schema, items
        )
        for index, problems in failed:
            item = items[index]
            errors += [_param_error(workload, item, problem, locate_config) for problem in problems]
    return errors


def _check_all(
    schema: ResourceSchema, items: Sequence[Matched]
) -> list[tuple[int, list[ParamProblem]]]:
    """``(index, problems)`` of each item whose params do not fit, in order.

    Only failures are kept: on a graph of thousands of resources, a list per resource
    would be thousands of objects the garbage collector has to walk for nothing.
    """
    failed = []
    for index, item in enumerate(items):
        rule_params = item.match.rule.params
        params = {**rule_params, **item.request.params} if rule_params else item.request.params
        problems = schema.check_params(params)
        if problems:
            failed.append((index, problems))
    return failed


def _param_error(
    workload: Workload, item: Matched, problem: ParamProblem, locate_config: Locate | None
) -> InputError:
    request, match, provisioner = item.request, item.match, item.registered.name
    where = f"resource {request.name!r} ({request.type}, provisioner {provisioner!r})"
    rule_params: Mapping[str, Any] = match.rule.params or {}
    head = problem.path[0] if problem.path else None
    if head is not None and head not in request.params and head in rule_params:
        loc: FieldPath = ("rules", match.index, "params", *problem.path)
        return ConfigError(
            f"rules[{match.index}] sets a bad param for {where} in "
            f"{workload.display_path}: {problem.message}",
            location=locate_config(loc) if locate_config else None,
            field=".".join(str(p) for p in loc),
        )
    field_path: FieldPath = ("resources", request.name, "params", *problem.path)
    return WorkloadError(
        f"{where}: {problem.message}",
        location=workload.location(*field_path),
        field=".".join(str(p) for p in field_path),
        hint=f"podium schema resource {request.type} --provisioner {provisioner} shows its params",
    )


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
    unknown: dict[tuple[str, str], str] = {}
    for name, key in _named_outputs(workload):
        found = checked.get(name)
        why = found.schema.unknown_output(key) if found is not None else None
        if why is not None:
            unknown[(name, key)] = why
    if not unknown:
        return []
    # Rare: walk the file again for where each unknown output is named.
    errors: list[InputError] = []
    for field_path, inner, name, key in _placeholders_with_fields(workload):
        why = unknown.get((name, key))
        if why is None:
            continue
        request, found = workload.resources[name], checked[name]
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


def _named_outputs(workload: Workload) -> set[tuple[str, str]]:
    """Every ``(resource, output)`` the workload's placeholders name.

    Resource params reuse the placeholders their requests parsed already (for the
    dependency graph); only the containers' strings are read here.
    """
    named = {
        (ref[1], ref[2])
        for request in workload.resources.values()
        for ref in request.references()
        if len(ref) >= 3 and ref[0] == "resources"
    }
    for _field, inner in _resource_placeholders(_container_strings(workload.spec)):
        parts = _split(inner)
        if len(parts) >= 3 and parts[0] == "resources":
            named.add((parts[1], parts[2]))
    return named


def _placeholders_with_fields(workload: Workload) -> Iterator[tuple[FieldPath, str, str, str]]:
    """``(field path, placeholder as written, resource, output)`` for each output named."""
    for field_path, inner in _resource_placeholders(expandable_fields(workload.spec)):
        parts = _split(inner)
        if len(parts) >= 3 and parts[0] == "resources":
            yield field_path, inner, parts[1], parts[2]


def _container_strings(spec: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    """The expandable strings outside ``resources`` (whose params are parsed already)."""
    return expandable_fields({"containers": spec.get("containers", {})})


def _resource_placeholders(
    strings: Iterator[tuple[FieldPath, str]],
) -> Iterator[tuple[FieldPath, str]]:
    """The inside of every real placeholder that may name a resource's output."""
    for field_path, template in strings:
        if "${resources." not in template:
            continue
        for match in PATTERN.finditer(template):
            if not match.group(1).startswith("$"):  # "$$" and "$${...}" are escapes
                yield field_path, match.group(2)


def _split(inner: str) -> list[str]:
    # split_path handles "\." (a dot inside a key); most paths have none.
    return split_path(inner) if "\\" in inner else inner.split(".", 3)


def in_file_order(errors: list[InputError]) -> list[InputError]:
    """Errors sorted as a reader meets them: by file, line and column (unlocated last)."""

    def position(error: InputError) -> tuple[int, str, int, int]:
        where = error.location
        if where is None:
            return (1, "", 0, 0)
        return (0, where.path, where.line or 0, where.column or 0)

    return sorted(errors, key=position)


__all__ = ["Matched", "Provided", "in_file_order", "provided", "workload_errors"]
