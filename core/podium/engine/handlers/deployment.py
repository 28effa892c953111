"""Deployment nodes: deploy a release (and roll back automatically if it fails), destroy.

Each deployer call is journaled before it is made and closed with the deployment's
record; each deploy is recorded as a release, failed ones too.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from podium.deployment.contract import DeployContext, Release, RenderedResource
from podium.engine import live_outputs
from podium.engine.attribute_diff import workload_attributes
from podium.engine.graph import digest
from podium.engine.handlers.context import Unchanged
from podium.engine.records import DeploymentIntent, ReleaseEntry
from podium.engine.release_secrets import secrets_used, with_current_secrets
from podium.errors import NotFoundError, ResourceError
from podium.platform.contract import ResourceRecord
from podium.plugins.kinds import DEPLOYERS

if TYPE_CHECKING:
    from podium.engine.handlers.context import ApplyContext
    from podium.engine.plan import Change


class DeploymentHandler:
    def __init__(self, run: ApplyContext) -> None:
        self.run = run

    def destroy(self, change: Change) -> str:
        run = self.run
        registered = run.rt.plugins.registered(DEPLOYERS, change.provider)
        workload_name = change.workload or change.uid.split(":", 1)[1]
        ctx = self.context(registered, workload_name, run.records.get(change.uid))
        intent = run.journal.intent(
            change.uid, "destroy", DeploymentIntent(provider=change.provider)
        )
        intent_id = run.journal.open(intent)
        run.call(registered, "destroy", registered.obj.destroy, ctx)
        run.journal.close(intent_id, delete_uid=change.uid)
        return "destroyed"

    def deploy(self, change: Change) -> str:
        run = self.run
        registered = run.rt.plugins.registered(DEPLOYERS, change.provider)
        record = run.records.get(change.uid)
        workload_name = change.workload or change.uid.split(":", 1)[1]
        # ``template`` refers to live outputs (what releases record); ``rendered`` holds
        # their current values (what the deployer gets, and what the digest notices).
        template = self.render(workload_name)
        # Enrichment hooks change ``template`` in place; their return values are unused.
        run.rt.plugins.broadcast("podium_enrich_deployment", workload=template, env=run.rt.env)
        rendered = with_live_values(template, run.live)
        rendered_digest = digest(run.fingerprint(rendered.model_dump()))
        if (
            record is not None
            and record.digest == rendered_digest
            and record.provider == change.provider
            and not change.redeploy  # unchanged, but a refresh found it not running
        ):
            raise Unchanged("rendered workload unchanged")
        releases = run.rt.store.releases(workload_name)
        number = (releases[-1]["number"] + 1) if releases else 1
        ctx = self.context(registered, workload_name, record, number, change.owner)
        intent = run.journal.intent(
            change.uid,
            "deploy",
            DeploymentIntent(
                provider=change.provider,
                plugin=change.plugin,
                release=number,
                node_spec=change.spec,
                depends_on=change.depends_on,
                owner=change.owner,
            ),
        )
        intent_id = run.journal.open(intent)
        try:
            result = run.call(registered, "deploy", registered.obj.deploy, ctx, rendered)
        except Exception as exc:
            self.record_release(
                workload_name, number, template, change.provider, {}, "failed", str(exc)
            )
            # Record the failed deployment: status shows it down, destroy can remove
            # what the deployer left running, and the next plan deploys it again.
            outputs_kept = record.outputs if record is not None else {}
            failed = deployment_record(
                change,
                "",
                outputs_kept,
                digest="",
                failed_release=number,
                source=_kept_source(record) or self._source(workload_name),
            )
            run.journal.close(intent_id, record=failed)
            if run.rt.env_config.rollback_on_failure and releases:
                note = self.auto_rollback(change, registered, workload_name, releases, number)
                if note:
                    # The node still fails (exit 6): the deploy's own cause first, then the rollback.
                    raise ResourceError(f"{exc}; {note}") from exc
            raise
        outputs = {**result.outputs, "urls": list(result.urls), "release": number}
        self.record_release(
            workload_name, number, template, change.provider, outputs, "deployed", result.message
        )
        record = deployment_record(
            change,
            change.node().spec_hash,
            run.rt.cipher.seal(outputs),
            digest=rendered_digest,
            # what the next plan diffs against (no secret values: see attribute_diff)
            attributes=self._attributes(workload_name),
            source=self._source(workload_name),
        )
        run.journal.close(intent_id, record=record)
        run.set_outputs(change.uid, outputs)
        run.rendered[workload_name] = (rendered, result)
        return f"release {number} deployed" + (f": {result.message}" if result.message else "")

    def auto_rollback(
        self,
        change: Change,
        registered: Any,
        workload: str,
        releases: list[dict[str, Any]],
        failed: int,
    ) -> str:
        """Redeploy the last good release after release ``failed`` failed; say what happened.

        The rollback is a deploy like any other: journaled before the deployer is called,
        recorded as a release, and the deployment record then describes what really runs
        (so ``status`` is right and the next plan deploys the files' version again).
        """
        run = self.run
        good = [r for r in releases if r.get("status") == "deployed"]
        if not good:
            return ""
        try:  # never with a secret value rotated since that release
            data, used, rotated = with_current_secrets(
                run.rt.cipher.unseal(good[-1]), run.rt.env.secret_store
            )
        except NotFoundError as exc:
            return f"no automatic rollback: {exc}"
        template = Release.model_validate(data).workload  # what the new release records
        live = live_outputs.references(data["workload"])
        if live:  # live outputs are read again: a rollback uses their current values
            try:
                data = {**data, "workload": run.live.resolve(data["workload"])}
            except ResourceError as exc:
                return f"no automatic rollback: {exc}"
        release = Release.model_validate(data)
        number = failed + 1
        ctx = self.context(registered, workload, run.records.get(change.uid), number, change.owner)
        intent = run.journal.intent(
            change.uid,
            "deploy",
            DeploymentIntent(
                provider=release.deployer,
                plugin=change.plugin,
                release=number,
                rollback_to=release.number,
                node_spec=change.spec,
                depends_on=change.depends_on,
                owner=change.owner,
            ),
        )
        intent_id = run.journal.open(intent)
        try:
            if rotated or live:  # what the deployer made then may hold old values: anew
                result = run.call(
                    registered, "deploy", registered.obj.deploy, ctx, release.workload
                )
            else:
                result = run.call(registered, "rollback", registered.obj.rollback, ctx, release)
        except Exception as exc:
            run.journal.close(intent_id)
            run.rt.event(
                "rollback.failed", change.uid, f"rollback to release {release.number} failed"
            )
            return f"automatic rollback to release {release.number} failed: {exc}"
        outputs = {**result.outputs, "urls": list(result.urls), "release": number}
        self.record_release(
            workload,
            number,
            template,
            release.deployer,
            outputs,
            "deployed",
            f"automatic rollback to release {release.number} after release {failed} failed",
            used,
        )
        record = deployment_record(
            change,
            "",  # the files still describe the failed release: the next plan deploys it
            run.rt.cipher.seal(outputs),
            digest=digest(run.fingerprint(release.workload.model_dump())),
            rolled_back_to=release.number,
            source=_kept_source(run.records.get(change.uid)),
        )
        run.journal.close(intent_id, record=record)
        run.rt.event("rollback.finished", change.uid, f"rolled back to release {release.number}")
        note = f"rolled back to release {release.number} (now release {number})"
        from podium.engine.audit import record_automatic_rollback

        record_automatic_rollback(run.rt.store, run.lease, run.run_id, change.uid, workload, note)
        return note

    def context(
        self,
        registered: Any,
        workload: str,
        record: ResourceRecord | None,
        release: int = 1,
        owner: str | None = None,
    ) -> DeployContext:
        from podium.engine.deploy_context import deploy_context

        return deploy_context(
            registered,
            workload,
            self.run.rt.env,
            release=release,
            recorded_outputs=record.outputs if record is not None else None,
            stop=self.run.stop,
            timeout=self.run.rt.engine.timeout,
            plugins=self.run.rt.plugins,
            owner=owner,
        )

    # --- rendering and releases --------------------------------------------------
    def render(self, workload_name: str) -> Any:
        from podium.workload.render import render_workload

        run = self.run
        workload = run.rt.workloads[workload_name]
        resources = {
            name: RenderedResource(
                uid=req.uid,
                type=req.type,
                resource_class=req.resource_class,
                outputs=live_outputs.with_references(req.uid, run.outputs_of(req.uid)),
            )
            for name, req in workload.resources.items()
        }
        # The state root (keys, secrets, state) is never a file source, wherever it is.
        private = (run.rt.env.state_dir.parent,)
        rendered = render_workload(workload, resources, private_paths=private)
        if workload.path is not None:
            rendered.extensions.setdefault("podium.source_dir", str(workload.path.parent.resolve()))
        return rendered

    def record_release(
        self,
        workload: str,
        number: int,
        rendered: Any,
        deployer: str,
        outputs: dict[str, Any],
        status: str,
        note: str,
        platform_secrets: list[dict[str, Any]] | None = None,
    ) -> None:
        run = self.run
        if platform_secrets is None:
            platform_secrets = self._platform_secrets(workload)
        release = ReleaseEntry(
            number=number,
            workload=rendered.model_dump(),
            deployer=deployer,
            outputs=outputs,
            status=status,
            note=note,
            run_id=run.run_id,
            secrets=platform_secrets,
        )
        run.rt.store.add_release(workload, run.rt.cipher.seal(release.to_dict()))

    def _attributes(self, workload_name: str) -> dict[str, Any]:
        workload = self.run.rt.workloads.get(workload_name)
        return workload_attributes(workload.spec) if workload is not None else {}

    def _source(self, workload_name: str) -> dict[str, str] | None:
        """The Score source the plan deploys ``workload_name`` from, for ``plan --all``."""
        return deployed_source(self.run.plan.workloads, workload_name)

    def _platform_secrets(self, workload_name: str) -> list[dict[str, Any]]:
        """The platform secrets (key, version, value) a workload is rendered with."""
        run = self.run
        workload = run.rt.workloads.get(workload_name)
        if workload is None:
            return []
        planned = {c.uid: c.spec for c in run.plan.changes}
        specs = {}
        for request in workload.resources.values():
            record = run.records.get(request.uid)
            spec = planned.get(request.uid) or (record.spec if record is not None else None)
            if spec is not None:
                specs[request.uid] = spec
        return secrets_used(specs, run.outputs_of)


def with_live_values(template: Any, live: live_outputs.LiveValues) -> Any:
    """``template`` (a rendered workload) with its live output references resolved; the
    same object when it has none."""
    dumped = template.model_dump()
    if not live_outputs.references(dumped):
        return template
    return type(template).model_validate(live.resolve(dumped))


def deployment_record(
    change: Change, spec_hash: str, sealed_outputs: dict[str, Any], **bookkeeping: Any
) -> ResourceRecord:
    """The state record of a deployment node (``bookkeeping``: the record's digest, failed
    release, rolled-back-to release and attributes fields)."""
    return ResourceRecord(
        uid=change.uid,
        kind="deployment",
        provider=change.provider,
        plugin=change.plugin,
        spec=dict(change.spec),
        spec_hash=spec_hash,
        outputs=sealed_outputs,
        physical_name=change.workload or change.uid.split(":", 1)[1],
        depends_on=list(change.depends_on),
        updated_at=datetime.now(UTC).isoformat(),
        owner=change.owner,
        **bookkeeping,
    )


def deployed_source(embedded: list[dict[str, str]], workload_name: str) -> dict[str, str] | None:
    """A deployment record's ``source``: the plan's embedded Score text, its path and digest."""
    for entry in embedded:
        text = entry.get("source")
        if entry.get("name") == workload_name and isinstance(text, str):
            return {
                "path": entry.get("path") or "",
                "digest": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                "text": text,
            }
    return None


def _kept_source(record: ResourceRecord | None) -> dict[str, str] | None:
    # a failed release or a rollback leaves the last deployed source in place
    return record.source if record is not None else None
