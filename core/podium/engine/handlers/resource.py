"""Resource nodes: create, update, delete (journaled in the scheduler's rounds) and replace.

A create, update or delete is split in two: :meth:`ResourceHandler.prepare` resolves
its params and builds its intent (on the scheduler's thread, so the intent joins the
round's transaction), and :meth:`ResourceHandler.perform` makes the plugin call on a
worker and says what to record. A replace deletes and creates on the worker, each
journaled on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from podium.engine import live_outputs
from podium.engine.calls import as_outputs
from podium.engine.graph import digest
from podium.engine.handlers.context import Unchanged
from podium.engine.journal import Completion, Prepared
from podium.engine.records import ResourceIntent
from podium.errors import InputError
from podium.platform.contract import IntentOutcome, ResourceRecord
from podium.plugins.kinds import PROVISIONERS
from podium.provisioning.schema import ResourceSchema, resource_schema
from podium.security.secret import Secret

if TYPE_CHECKING:
    from podium.engine.handlers.context import ApplyContext
    from podium.engine.plan import Change

#: the actions whose intents the scheduler journals in its rounds
BATCHED = frozenset({"create", "update", "delete"})


class ResourceHandler:
    def __init__(self, run: ApplyContext) -> None:
        self.run = run
        self._schemas: dict[str, ResourceSchema] = {}

    def schema(self, registered: Any) -> ResourceSchema:
        """The provisioner's schema, read once per run (not twice for every node)."""
        found = self._schemas.get(registered.name)
        if found is None:
            found = self._schemas[registered.name] = resource_schema(registered.obj)
        return found

    # --- create / update ---------------------------------------------------------
    def prepare(self, change: Change) -> Prepared:
        """Resolve params and build the intent of a create, update or delete (raises
        :class:`Unchanged` for an update whose resolved params did not change)."""
        run = self.run
        registered = run.rt.plugins.registered(PROVISIONERS, change.provider)
        record = run.records.get(change.uid)
        if change.action == "delete":
            assert record is not None
            return self.prepare_delete(change, registered, record)
        params = self.resolved_params(change)
        self._check_params(registered, change, params)
        applied_digest = digest(run.fingerprint(params))
        spec_hash = change.node().spec_hash  # hashing the spec is not free: once per change
        if (
            change.action == "update"
            and record is not None
            and record.digest == applied_digest
            and record.spec_hash == spec_hash
            and not change.redeploy  # unchanged, but a refresh found its outputs drifted
        ):
            raise Unchanged("resolved params unchanged")
        physical = (
            record.physical_name
            if record and record.physical_name
            else run.rt.env.physical_name(change.uid)
        )
        intent = run.journal.intent(
            change.uid,
            "update" if record is not None else "create",
            ResourceIntent(
                provider=change.provider,
                plugin=change.plugin,
                physical_name=physical,
                node_spec=change.spec,
                params=run.rt.cipher.seal(params),
                spec_hash=spec_hash,
                depends_on=change.depends_on,
                owner=change.owner,
            ),
        )
        return Prepared(
            change=change,
            registered=registered,
            operation=intent.action,
            ctx=run.rt.resource_context(change.uid, change.spec, physical, params),
            intent=intent,
            previous=run.outputs_of(change.uid) if record is not None else None,
            applied_digest=applied_digest,
            spec_hash=spec_hash,
        )

    def prepare_delete(self, change: Change, registered: Any, record: ResourceRecord) -> Prepared:
        run = self.run
        spec = run.rt.cipher.unseal(record.spec)
        params = {**(spec.get("rule_params") or {}), **(spec.get("params") or {})}
        physical = record.physical_name or run.rt.env.physical_name(record.uid)
        intent = run.journal.intent(
            record.uid,
            "delete",
            ResourceIntent(record.provider, record.plugin, physical, record.spec),
        )
        ctx = run.rt.resource_context(record.uid, spec, physical, params)
        return Prepared(change, registered, "delete", ctx, intent)

    def _check_params(self, registered: Any, change: Change, params: dict[str, Any]) -> None:
        """Refuse params the provisioner's model rejects before an intent is journaled: a
        journaled intent with params its ``read`` cannot take would block reconcile."""
        schema = self.schema(registered)
        if schema.params_model is None:
            return
        problems = self.run.rt.plugins.call_attributed(
            registered.plugin, f"{registered.name}.params_model", schema.check_params, params
        )
        if problems:
            raise InputError(
                f"{change.uid}: invalid params for {registered.name}: "
                + "; ".join(problem.message for problem in problems),
                hint="fix the params in the Score file or the rule, then apply again",
            )

    def resolved_params(self, change: Change) -> dict[str, Any]:
        from podium.workload.render import resolve_params

        spec = change.spec
        workload = self.run.rt.workloads.get(spec.get("workload") or "")
        params = dict(spec.get("rule_params") or {})
        if workload is None:
            params.update(spec.get("params") or {})
            return params
        request = workload.resources[spec["name"]]
        # Only the referenced resources: walking every sibling made wide workloads quadratic.
        referenced = [
            workload.resources[n] for n in request.depends_on() if n in workload.resources
        ]
        outputs = {
            req.name: {
                "uid": req.uid,
                "type": req.type,
                "class": req.resource_class,
                "outputs": self.run.live.resolve_outputs(req.uid, self.run.outputs_of(req.uid)),
            }
            for req in referenced
        }
        params.update(resolve_params(request, outputs))
        return params

    # --- the side effect ---------------------------------------------------------
    def perform(self, prepared: Prepared) -> tuple[str, Completion]:
        """The side effect of a journaled change (plugin code), and what to record after."""
        run = self.run
        registered, ctx, change = prepared.registered, prepared.ctx, prepared.change
        if prepared.operation == "delete":
            run.call(registered, "delete", registered.obj.delete, ctx)
            outcome = IntentOutcome(prepared.intent_id, delete_uid=ctx.uid)
            return "deleted", Completion(outcome, None)
        if prepared.operation == "update":
            update = registered.obj.update
            outputs = run.call(registered, "update", update, ctx, prepared.previous)
        else:
            outputs = run.call(registered, "create", registered.obj.create, ctx)
        schema = self.schema(registered)
        outputs = _sensitive_wrapped(schema, as_outputs(registered, prepared.operation, outputs))
        if schema.live_outputs:  # kept for this run's renders; state gets markers only
            run.live.remember(change.uid, outputs, schema.live_outputs)
            outputs = live_outputs.stored(outputs, schema.live_outputs, run.rt.cipher.fingerprint)
        record = ResourceRecord(
            uid=change.uid,
            kind="resource",
            provider=change.provider,
            plugin=change.plugin,
            spec=change.spec,
            digest=prepared.applied_digest,
            spec_hash=prepared.spec_hash,
            outputs=run.rt.cipher.seal(outputs),
            physical_name=ctx.physical_name,
            depends_on=list(change.depends_on),
            updated_at=datetime.now(UTC).isoformat(),
            owner=change.owner,
        )
        message = "updated" if prepared.operation == "update" else f"created {ctx.physical_name}"
        return message, Completion(IntentOutcome(prepared.intent_id, record=record), outputs)

    def completed(self, uid: str, completion: Completion) -> None:
        """After the outcome is durable: make outputs visible to dependents."""
        if completion.outputs is None:
            self.run.records.pop(uid, None)
            self.run.rt.store.forget_generated(uid)
        else:
            self.run.set_outputs(uid, completion.outputs)

    # --- replace (and any change run start to finish on a worker) -----------------
    def replace(self, change: Change) -> str:
        """Delete the old resource, then create the new one, each journaled on its own."""
        record = self.run.records.get(change.uid)
        if record is not None:
            old = self.run.rt.plugins.registered(PROVISIONERS, record.provider)
            self.run_now(self.prepare_delete(change, old, record))
        return self.run_now(self.prepare(change))

    def run_now(self, prepared: Prepared) -> str:
        journal = self.run.journal
        prepared.intent_id = journal.open(prepared.intent)
        message, completion = self.perform(prepared)
        journal.store.journal([completion.outcome], [])
        self.completed(prepared.change.uid, completion)
        return message


def _sensitive_wrapped(schema: ResourceSchema, outputs: dict[str, Any]) -> dict[str, Any]:
    """Wrap outputs the provisioner declares sensitive, so they can never leak as plain text.

    Whether every declared output is returned is the conformance kit's check.
    """
    for key in schema.sensitive_outputs:
        value = outputs.get(key)
        if isinstance(value, str):
            outputs[key] = Secret(value)
    return outputs
