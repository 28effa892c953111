"""Build the desired graph from workloads and the platform config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.engine import resource_checks
from podium.engine.graph import CycleError, Node, topological_order
from podium.engine.rules import match_rule
from podium.errors import (
    ConfigError,
    InputError,
    InputErrors,
    NoMatchingRuleError,
    WorkloadError,
)
from podium.plugins.kinds import DEPLOYERS, PROVISIONERS

if TYPE_CHECKING:
    from podium.config.models import RuleSection
    from podium.engine.rules import RuleMatch
    from podium.engine.runtime import EngineRuntime
    from podium.plugins.manager import Registered
    from podium.provisioning.contract import Provisioner
    from podium.workload.model import ResourceRequest, Workload


def deployment_uid(workload: str) -> str:
    return f"deployment:{workload}"


def observability_uid(workload: str) -> str:
    return f"observability:{workload}"


def desired_nodes(rt: EngineRuntime, workloads: Sequence[Workload]) -> list[Node]:
    """Every node the workloads need in this environment, in dependency order."""
    nodes: dict[str, Node] = {}
    problems: list[Exception] = []
    monitors = [p.name for p in rt.plugins.plugins if "podium_configure_telemetry" in p.hooks]
    deployer_name = rt.env_config.deployer
    #: the provisioner (and schema) each resource matched, for checking placeholders
    provided: dict[str, resource_checks.Provided] = {}
    schemas: dict[str, resource_checks.Provided] = {}  # by provisioner name
    fulfilments: dict[tuple[str, str, str | None], _Fulfilment] = {}
    for workload in workloads:
        resource_uids: list[str] = []
        #: the workload's requests and what fulfils them, for the schema checks
        matched: list[resource_checks.Matched] = []
        for name, request in workload.resources.items():
            resource_uids.append(request.uid)
            if request.uid in nodes:  # a shared resource (same id) seen in another workload
                continue
            try:
                fulfilment = _fulfilment(rt, request, fulfilments, schemas)
            except NoMatchingRuleError as exc:
                unmatched = _unmatched_class(rt.rules, request)
                if unmatched is not None:
                    problems.append(
                        WorkloadError(
                            unmatched,
                            location=workload.location("resources", name, "class"),
                            field=f"resources.{name}.class",
                            hint=exc.hint,
                        )
                    )
                    continue
                problems.append(
                    NoMatchingRuleError(
                        exc.reason,
                        location=request.location,
                        field=f"resources.{name}.type",
                        hint=exc.hint,
                    )
                )
                continue
            match, registered = fulfilment.match, fulfilment.registered
            provided[request.uid] = fulfilment.provided
            schema = fulfilment.provided.schema
            if not fulfilment.locked.isdisjoint(request.params):
                problems.extend(_locked_params_set(workload, request, match, fulfilment.locked))
                continue
            if not fulfilment.handled:
                problems.append(
                    ConfigError(
                        f"provisioner {match.rule.provisioner!r} handles type "
                        f"{registered.obj.resource_type!r}, not {request.type!r}",
                        field=f"rules.{match.index}.provisioner",
                    )
                )
                continue
            matched.append(resource_checks.Matched(request, registered, schema, match))
            spec: dict[str, Any] = {
                "type": request.type,
                "class": request.resource_class,
                "id": request.id,
                "workload": workload.name,
                "name": name,
                "params": request.params,
                "rule_params": match.rule.params,
                "annotations": request.annotations,
            }
            nodes[request.uid] = Node(
                uid=request.uid,
                kind="resource",
                provider=match.rule.provisioner,
                plugin=registered.plugin.name,
                spec=spec,
                depends_on=sorted(workload.resources[d].uid for d in request.depends_on()),
                workload=workload.name,
                rule=fulfilment.explained,
            )
        problems.extend(
            resource_checks.workload_errors(rt.plugins, workload, matched, provided, rt.locate)
        )
        if deployer_name is None:
            continue
        deployer = rt.plugins.registered(DEPLOYERS, deployer_name)
        deploy = Node(
            uid=deployment_uid(workload.name),
            kind="deployment",
            provider=deployer_name,
            plugin=deployer.plugin.name,
            spec={
                "workload": workload.name,
                "digest": workload.digest(),
                "deployer": deployer_name,
            },
            depends_on=sorted(set(resource_uids)),
            workload=workload.name,
        )
        nodes[deploy.uid] = deploy
        if monitors:
            monitor_spec: dict[str, Any] = {"workload": workload.name, "plugins": monitors}
            telemetry = _telemetry_plan(rt, workload, problems)
            if telemetry:  # only then: specs recorded before this hook existed stay equal
                monitor_spec["telemetry"] = telemetry
            monitor = Node(
                uid=observability_uid(workload.name),
                kind="observability",
                provider="podium_configure_telemetry",
                plugin=",".join(monitors),
                spec=monitor_spec,
                depends_on=[deploy.uid],
                workload=workload.name,
            )
            nodes[monitor.uid] = monitor
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise InputErrors([_as_input_error(p) for p in problems])
    try:
        order = topological_order({uid: node.depends_on for uid, node in nodes.items()})
    except CycleError as exc:
        raise WorkloadError(
            f"resources depend on each other in a cycle: {' -> '.join(exc.cycle)}"
        ) from exc
    return [nodes[uid] for uid in order]


@dataclass(frozen=True)
class _Fulfilment:
    """What the rules give every request of one type, class and id in an environment."""

    match: RuleMatch
    registered: Registered[Provisioner]
    provided: resource_checks.Provided
    #: the params the rule locks, or only the platform's rules may set
    locked: frozenset[str]
    #: the match explained, shared by the nodes of these requests (display only)
    explained: dict[str, Any]
    #: whether the provisioner says it handles the type and class
    handled: bool


def _fulfilment(
    rt: EngineRuntime,
    request: ResourceRequest,
    known: dict[tuple[str, str, str | None], _Fulfilment],
    schemas: dict[str, resource_checks.Provided],
) -> _Fulfilment:
    """The rule, provisioner and explanation for ``request``, worked out once per type,
    class and id (thousands of requests usually share a handful); raises
    :class:`~podium.errors.NoMatchingRuleError`, and never remembers a failure."""
    key = (request.type, request.resource_class, request.id)
    found = known.get(key)
    if found is None:
        match = match_rule(
            rt.rules,
            resource_type=request.type,
            resource_class=request.resource_class,
            resource_id=request.id,
            environment=rt.env.environment,
            uid=request.uid,
        )
        registered = rt.plugins.registered(PROVISIONERS, match.rule.provisioner)
        provided = resource_checks.provided(registered, schemas)
        locked = frozenset(match.rule.locked_params) | provided.schema.platform_only
        handled = bool(registered.obj.handles(request.type, request.resource_class))
        found = known[key] = _Fulfilment(
            match, registered, provided, locked, match.explain(rt.locate), handled
        )
    return found


def _telemetry_plan(
    rt: EngineRuntime, workload: Workload, problems: list[Exception]
) -> dict[str, Any]:
    """What each monitoring plugin will set up for the workload (``podium_telemetry_plan``).

    A plugin's :class:`InputError` (an annotation it cannot use) joins the workload's
    problems, with the file and line the plugin named.
    """
    from podium.plugins.calls import PluginCallError

    def keep(exc: PluginCallError) -> None:
        problems.append(exc.original if isinstance(exc.original, InputError) else exc)

    results = rt.plugins.broadcast(
        "podium_telemetry_plan", on_error=keep, workload=workload, env=rt.env
    )
    return {r.plugin.name: r.value for r in results}


def _locked_params_set(
    workload: Workload, request: ResourceRequest, match: RuleMatch, locked: frozenset[str]
) -> list[InputError]:
    """The workload sets a param the matching rule locks (or only a rule may set)."""
    rule = match.rule
    errors: list[InputError] = []
    for key in sorted(set(request.params) & locked):
        by = (
            f"rules[{match.index}] (type={rule.type}) in the platform config locks it"
            if key in rule.locked_params
            else f"provisioner {rule.provisioner!r} lets only the platform's rules set it"
        )
        value = "sets it to its own value" if key in rule.params else "leaves it unset"
        errors.append(
            WorkloadError(
                f"param {key!r} of resource {request.name!r} is pinned by the platform: {by} "
                f"and {value}",
                location=workload.location("resources", request.name, "params", key),
                field=f"resources.{request.name}.params.{key}",
                hint="remove it from the Score file, or ask the platform team to change "
                f"rules[{match.index}]",
            )
        )
    return errors


def _unmatched_class(rules: Sequence[RuleSection], request: ResourceRequest) -> str | None:
    """Why no rule can match the request's class in any environment, or ``None``.

    Only when rules for its type exist, none of them is class-less and none names
    its class: a typo (``class: lage``) that would otherwise fail late or not at all.
    """
    typed = [rule for rule in rules if rule.type == request.type]
    if not typed or any(rule.resource_class in (None, request.resource_class) for rule in typed):
        return None
    classes = sorted({str(rule.resource_class) for rule in typed})
    return (
        f"no rule for type {request.type!r} has class {request.resource_class!r} "
        f"(classes with rules: {', '.join(classes)})"
    )


def _as_input_error(problem: Exception) -> InputError:
    """One problem of several, as an input error (unmatched requests already carry their line)."""
    if isinstance(problem, InputError):
        return problem
    hint = getattr(problem, "hint", None)
    message = getattr(problem, "message", str(problem))
    return ConfigError(message, hint=hint)
