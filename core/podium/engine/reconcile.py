"""Resolve intents left pending by a run that died between a side effect and its outcome.

For each pending intent the provider is asked what really exists, by the
deterministic physical name journaled with the intent:

* a create/update whose resource exists is adopted: its record is written from
  the journaled spec and the outputs ``read`` returns, so the next plan sees it
  (and deletes it if it is no longer wanted) instead of leaking it;
* a create whose resource does not exist is dropped: nothing happened;
* a delete whose resource is gone removes the record; one that still exists
  keeps its record, so the delete is planned again;
* a deploy is marked stale so the next plan redeploys (deployers are idempotent).

An intent whose question fails (a ``read`` that raises on the journaled params, a
plugin no longer installed) stays pending and is reported with its node and error;
the other intents are resolved and the run goes on. ``podium state resolve NODE
--gone|--adopt|--retry`` (:func:`resolve`) settles it by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from podium.engine.live_outputs import stored_for
from podium.engine.runtime import EngineRuntime
from podium.platform.contract import Intent, ResourceRecord
from podium.plugins.kinds import DEPLOYERS, PROVISIONERS


def reconcile(rt: EngineRuntime) -> list[str]:
    """Resolve every pending intent; return one line per intent describing what was done.

    An intent that cannot be resolved stays pending; its line names the node, the
    error and the way out.
    """
    notes: list[str] = []
    records = {r.uid: r for r in rt.store.records()}
    for intent in rt.store.pending_intents():
        try:
            note = resolve_one(rt, intent, records.get(intent.node))
        except Exception as exc:
            note = unresolved_note(intent, exc)
            rt.event("reconcile.failed", intent.node, note, error=str(exc))
        else:
            rt.event("reconcile", intent.node, note)
        notes.append(note)
    return notes


def resolve_one(rt: EngineRuntime, intent: Intent, record: ResourceRecord | None) -> str:
    """Resolve one pending intent by asking its provider; raises if the provider cannot tell."""
    assert intent.id is not None
    spec: dict[str, Any] = rt.cipher.unseal(intent.spec)
    kind = spec.get("kind", "resource")
    if kind == "resource":
        return _resource(rt, intent, spec, record)
    if kind == "deployment":
        return _deployment(rt, intent, spec, record)
    rt.store.complete_intent(intent.id)
    return f"{intent.node}: dropped unknown intent {intent.action}"


def unresolved_note(intent: Intent, error: BaseException) -> str:
    return (
        f"{intent.node}: the interrupted {intent.action} could not be checked ({error}); it "
        f"stays pending: run 'podium state resolve {intent.node} --gone|--adopt|--retry'"
    )


def resolve(rt: EngineRuntime, intent: Intent, how: str) -> str:
    """Settle ``intent`` by hand: ``retry`` asks the provider again (raising its error),
    ``gone`` says its resource does not exist (the record goes, so the next plan creates
    it again), ``adopt`` says it exists as journaled (recorded, to be updated by the next
    apply, which refreshes its outputs)."""
    assert intent.id is not None
    records = {r.uid: r for r in rt.store.records()}
    record = records.get(intent.node)
    if how == "retry":
        return resolve_one(rt, intent, record)
    if how == "gone":
        rt.store.complete_intent(intent.id, delete_uid=intent.node if record else None)
        if intent.action == "delete":  # a create keeps its generated values for the next try
            rt.store.forget_generated(intent.node)
        return f"{intent.node}: marked gone; the next plan creates it if it is wanted"
    if how == "adopt":
        spec: dict[str, Any] = rt.cipher.unseal(intent.spec)
        if intent.action in ("delete", "destroy"):
            rt.store.complete_intent(intent.id)
            return f"{intent.node}: still exists; the next plan deletes it again if unwanted"
        kind = spec.get("kind", "resource")
        adopted = ResourceRecord(
            uid=intent.node,
            kind=kind,
            provider=spec["provider"],
            plugin=spec.get("plugin", record.plugin if record else ""),
            spec=dict(spec.get("node_spec") or {}),
            digest="",
            spec_hash="",  # the next plan updates it: its outputs are read back then
            outputs=record.outputs if record else {},
            physical_name=spec.get("physical_name") or intent.node.split(":", 1)[-1],
            depends_on=list(spec.get("depends_on") or []),
            updated_at=datetime.now(UTC).isoformat(),
            owner=_owner(spec, record),
        )
        rt.store.complete_intent(intent.id, record=adopted)
        return f"{intent.node}: adopted as journaled; the next apply updates it"
    raise ValueError(f"unknown resolution {how!r}")


def _resource(
    rt: EngineRuntime, intent: Intent, spec: dict[str, Any], record: ResourceRecord | None
) -> str:
    assert intent.id is not None
    registered = rt.plugins.registered(PROVISIONERS, spec["provider"])
    node_spec = spec.get("node_spec") or {}
    params = spec.get("params") or {
        **(node_spec.get("rule_params") or {}),
        **(node_spec.get("params") or {}),
    }
    spec_for_ctx = {"type": registered.obj.resource_type, **node_spec}
    ctx = rt.resource_context(intent.node, spec_for_ctx, spec["physical_name"], params)
    outputs = rt.plugins.call_instrumented(
        registered.plugin, f"{registered.obj.name}.read", registered.obj.read, ctx
    )
    if intent.action == "delete":
        if outputs is None:
            rt.store.complete_intent(intent.id, delete_uid=intent.node)
            rt.store.forget_generated(intent.node)
            return f"{intent.node}: interrupted delete had completed; record removed"
        rt.store.complete_intent(intent.id)
        return f"{intent.node}: interrupted delete had not happened; it will be planned again"
    if outputs is None:
        rt.store.complete_intent(intent.id)
        return f"{intent.node}: interrupted {intent.action} had not created anything"
    adopted = ResourceRecord(
        uid=intent.node,
        kind="resource",
        provider=spec["provider"],
        plugin=spec.get("plugin", registered.plugin.name),
        spec=dict(node_spec),
        digest="",  # an empty digest makes the next apply re-check params against reality
        spec_hash=str(spec.get("spec_hash", "")),
        outputs=rt.cipher.seal(stored_for(registered.obj, outputs, rt.cipher.fingerprint)),
        physical_name=spec["physical_name"],
        depends_on=list(spec.get("depends_on") or []),
        updated_at=datetime.now(UTC).isoformat(),
        owner=_owner(spec, record),
    )
    rt.store.complete_intent(intent.id, record=adopted)
    return f"{intent.node}: adopted {spec['physical_name']} left by an interrupted {intent.action}"


def _deployment(
    rt: EngineRuntime, intent: Intent, spec: dict[str, Any], record: ResourceRecord | None
) -> str:
    assert intent.id is not None
    if intent.action == "destroy":
        registered = rt.plugins.registered(DEPLOYERS, spec["provider"])
        from podium.engine.deploy_context import deploy_context

        workload = intent.node.split(":", 1)[1]
        outputs = record.outputs if record is not None else None
        status = rt.plugins.call_instrumented(
            registered.plugin,
            f"{registered.obj.name}.status",
            registered.obj.status,
            deploy_context(registered, workload, rt.env, recorded_outputs=outputs),
        )
        if status.state == "absent":
            rt.store.complete_intent(intent.id, delete_uid=intent.node)
            return f"{intent.node}: interrupted destroy had completed"
        rt.store.complete_intent(intent.id)
        return f"{intent.node}: interrupted destroy incomplete; it will be planned again"
    stale = ResourceRecord(
        uid=intent.node,
        kind="deployment",
        provider=spec["provider"],
        plugin=spec.get("plugin", ""),
        spec=dict(spec.get("node_spec") or {}),
        digest="",
        spec_hash="",  # forces a redeploy on the next plan
        outputs=record.outputs if record else {},
        physical_name=intent.node.split(":", 1)[1],
        depends_on=list(spec.get("depends_on") or []),
        updated_at=datetime.now(UTC).isoformat(),
        owner=_owner(spec, record),
    )
    rt.store.complete_intent(intent.id, record=stale)
    return (
        f"{intent.node}: interrupted deploy of release {spec.get('release')}; it will be redeployed"
    )


def _owner(spec: dict[str, Any], record: ResourceRecord | None) -> str | None:
    """The owner the interrupted run was recording (journaled), else the record's."""
    journaled = spec.get("owner")
    if isinstance(journaled, str):
        return journaled
    return record.owner if record is not None else None
