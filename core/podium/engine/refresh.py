"""Refresh: ask plugins whether what state records still matches reality.

State says what Podium made; reality can disagree without any Podium run: a
resource was deleted or changed by hand, the machine restarted, the process
supervisor died. A plan that trusted state alone would say "no changes" forever,
so a refresh

* reads every recorded resource of the plan from its provisioner, in parallel
  (the environment's ``parallelism`` or ``engine.parallelism`` reads at once, at
  most ``max_parallel`` per provisioner and ``engine.per_plugin`` per plugin): a
  missing one is created again, one whose outputs changed is updated with the
  reason ``drift: <keys> changed`` (the keys only; values, sensitive or not, are
  never shown);
* asks each recorded deployment's deployer for its status, and the plan
  redeploys those that need it, with the reason.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from podium.deployment.contract import WorkloadStatus
from podium.engine.deploy_context import deploy_context
from podium.engine.live_outputs import stored
from podium.errors import PluginError
from podium.plugins.calls import PluginCallError
from podium.plugins.kinds import DEPLOYERS, PROVISIONERS
from podium.provisioning.schema import resource_schema
from podium.security.secret import Secret

if TYPE_CHECKING:
    from podium.engine.bounded import Task
    from podium.engine.graph import Node
    from podium.engine.runtime import EngineRuntime
    from podium.platform.contract import ResourceRecord
    from podium.plugins.manager import Registered
    from podium.provisioning.contract import Provisioner
    from podium.security.crypto import StateCipher

#: How many changed output keys a drift reason names before it counts the rest.
SHOWN_KEYS = 5


@dataclass(frozen=True)
class ResourceDrift:
    """What reading the recorded resources found."""

    #: uids of resources that no longer exist (planned as creates)
    missing: frozenset[str] = frozenset()
    #: uid -> the output keys whose value changed behind Podium's back (planned as updates)
    changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def drift_reason(keys: Sequence[str]) -> str:
    """``drift: <keys> changed``: output names only, never their values."""
    shown = ", ".join(keys[:SHOWN_KEYS])
    if len(keys) > SHOWN_KEYS:
        shown += f" and {len(keys) - SHOWN_KEYS} more"
    return f"drift: {shown} changed"


def read_resources(
    rt: EngineRuntime, records: Iterable[ResourceRecord], only: frozenset[str] | None = None
) -> ResourceDrift:
    """Read the recorded resources (all, or ``only`` these) from their provisioners.

    Reads run on threads within the engine's limits, each comparing what it found
    with state as well, so the work overlaps the waiting. The first failing read
    stops the others from starting and is raised as a plugin error naming the
    resource. Events are emitted afterwards, in the records' order.
    """
    chosen = [r for r in records if r.kind == "resource" and (only is None or r.uid in only)]
    if not chosen:
        return ResourceDrift()
    from podium.engine.bounded import Task, run_bounded  # threads only for a refresh

    cipher = rt.cipher  # loaded here, once, not by each thread
    tasks: list[Task[_Found]] = []
    limits: dict[Hashable, int | None] = {}
    for record in chosen:
        registered = rt.plugins.registered(PROVISIONERS, record.provider)
        plugin, provisioner = registered.plugin.name, registered.name
        limits[("provisioner", provisioner)] = getattr(registered.obj, "max_parallel", None)
        limits[("plugin", plugin)] = rt.engine.per_plugin.get(plugin)
        tasks.append(
            Task(
                partial(_read, rt, cipher, registered, record),
                limits=(("provisioner", provisioner), ("plugin", plugin)),
            )
        )
    # The environment's own parallelism, if it sets one, as for apply.
    parallelism = rt.env_config.parallelism or rt.engine.parallelism
    outcomes = run_bounded(
        tasks, parallelism=parallelism, limits=limits, thread_name="podium-refresh"
    )
    for record, outcome in zip(chosen, outcomes, strict=True):
        if outcome.error is not None:
            raise _naming(outcome.error, record.uid) from outcome.error
    missing: set[str] = set()
    changed: dict[str, tuple[str, ...]] = {}
    for record, outcome in zip(chosen, outcomes, strict=True):
        keys = outcome.value
        if keys is None:
            missing.add(record.uid)
            rt.event("drift", record.uid, "recorded resource no longer exists")
        elif keys:
            changed[record.uid] = keys
            rt.event("drift", record.uid, drift_reason(keys), keys=list(keys))
    return ResourceDrift(frozenset(missing), changed)


#: What one read found: ``None`` (the resource is gone) or the output keys that changed.
_Found = tuple[str, ...] | None


def _read(
    rt: EngineRuntime,
    cipher: StateCipher,
    registered: Registered[Provisioner],
    record: ResourceRecord,
) -> _Found:
    spec = cipher.unseal(record.spec)
    ctx = rt.resource_context(record.uid, spec, record.physical_name or "")
    found = rt.plugins.call_instrumented(
        registered.plugin, f"{registered.name}.read", registered.obj.read, ctx
    )
    outputs = _checked(found, registered, record.uid)
    if outputs is None:
        return None
    secret_keys: Iterable[str] = getattr(registered.obj, "secret_outputs", ())
    live = resource_schema(registered.obj).live_outputs
    if live:  # state holds their keyed fingerprints: compare those, never a value
        outputs = stored(outputs, live, cipher.fingerprint)
    return tuple(changed_outputs(cipher.unseal(record.outputs), outputs, secret_keys))


def _naming(error: BaseException, uid: str) -> BaseException:
    """The read's error, its message naming the resource (the plugin is named already)."""
    if isinstance(error, PluginCallError):
        return PluginCallError(
            f"reading {uid}: {error.reason}",
            plugin=error.plugin,
            distribution=error.distribution,
            version=error.version,
            hook=error.hook or "read",
            original=error.original,
        )
    return error


def _checked(found: Any, registered: Registered[Provisioner], uid: str) -> dict[str, Any] | None:
    """A read's result as outputs; anything but ``None`` or a mapping is the plugin's fault."""
    if found is None:
        return None
    if not isinstance(found, Mapping) or not all(isinstance(k, str) for k in found):
        raise PluginError(
            f"reading {uid}: {registered.name}.read returned {type(found).__name__}, "
            "not a mapping of output names to values (or None)",
            plugin=registered.plugin.name,
            distribution=registered.plugin.distribution,
            version=registered.plugin.version,
            hook=f"{registered.name}.read",
        )
    return dict(found)


def changed_outputs(
    recorded: Mapping[str, Any], found: Mapping[str, Any], secret_keys: Iterable[str] = ()
) -> list[str]:
    """The output keys whose values differ between state and a read, sorted.

    An output the read no longer reports, or a new one, counts as changed. Secrets
    compare by value in constant time (:meth:`Secret.__eq__`) and are never
    revealed; keys the provisioner declares secret compare as secrets on both
    sides, whichever form they were recorded in. Tuples equal lists (state holds JSON).
    """
    secret = frozenset(secret_keys)
    old, new = _wrapped(recorded, secret), _wrapped(found, secret)
    return sorted(
        key
        for key in set(old) | set(new)
        if key not in old or key not in new or not _same(old[key], new[key])
    )


def _wrapped(outputs: Mapping[str, Any], secret: frozenset[str]) -> dict[str, Any]:
    return {
        key: Secret(value) if key in secret and isinstance(value, str) else value
        for key, value in outputs.items()
    }


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Secret) or isinstance(new, Secret):
        return isinstance(old, Secret) and isinstance(new, Secret) and old == new
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in old)
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return len(old) == len(new) and all(map(_same, old, new))
    return bool(old == new)


def down_deployments(
    rt: EngineRuntime, nodes: Sequence[Node], records: Iterable[ResourceRecord]
) -> dict[str, str]:
    """The planned deployments whose deployer says they need a redeploy, with the reason.

    Only deployments this plan would otherwise leave alone are asked: a new one
    is created anyway, one whose deployer changes is replaced, and one whose last
    deploy failed is deployed again. They are asked live and all at once, as
    ``podium status --probe`` asks: each may run a readiness probe.
    """
    recorded = {r.uid: r for r in records if r.kind == "deployment"}
    asked: list[tuple[str, Any, Any]] = []
    for node in nodes:
        record = recorded.get(node.uid)
        if node.kind != "deployment" or record is None or record.provider != node.provider:
            continue
        if record.failed_release is not None:
            continue
        registered = rt.plugins.registered(DEPLOYERS, record.provider)
        name = record.uid.split(":", 1)[1]
        ctx = deploy_context(registered, name, rt.env, recorded_outputs=record.outputs)
        asked.append((node.uid, registered, ctx))

    def ask(call: tuple[str, Any, Any]) -> WorkloadStatus:
        _uid, registered, ctx = call
        status: WorkloadStatus = rt.plugins.call_instrumented(
            registered.plugin, f"{registered.name}.status", registered.obj.status, ctx
        )
        return status

    if len(asked) < 2:
        answers = [ask(call) for call in asked]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(len(asked), 16)) as pool:
            answers = list(pool.map(ask, asked))
    down: dict[str, str] = {}
    for (uid, _registered, _ctx), status in zip(asked, answers, strict=True):
        if status.needs_redeploy:
            reason = f"deployment {status.state}"
            if status.message:
                reason += f": {status.message}"
            down[uid] = reason
            rt.event("drift", uid, reason)
    return down


def resources_of(nodes: Sequence[Node], deployments: Iterable[str]) -> frozenset[str]:
    """The resources the given deployments use (directly, as their workloads request them)."""
    wanted = set(deployments)
    return frozenset(dep for node in nodes if node.uid in wanted for dep in node.depends_on)
