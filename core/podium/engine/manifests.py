"""``podium render``: the manifests a rendering deployer would run, written to files.

Workloads are rendered as ``podium up`` renders them (placeholders expanded with the
outputs recorded in the environment's state, then ``podium_enrich_deployment``), and
the environment's deployer turns each into objects (:class:`~podium.plugin.Renderer`),
patched by ``podium_patch_manifests`` and checked again. Nothing is deployed and the
state is only read. Rendered files are not secret: a file that would hold any of the
workload's secret values is refused (fail closed), whatever the deployer did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.deployment.contract import RenderedResource, RenderedWorkload, Renderer
from podium.errors import InputError, ResourceError
from podium.plugins.kinds import DEPLOYERS
from podium.security.secret import Secret

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.workload.model import Workload


@dataclass(frozen=True)
class WorkloadManifests:
    """One workload's rendered objects and the file they were written to."""

    #: The workload's name.
    workload: str
    #: The deployer that rendered it.
    deployer: str
    #: The objects, after patches.
    objects: list[dict[str, Any]] = field(repr=False)
    #: The file's text (what was written).
    text: str = field(repr=False)
    #: Where the file was written, ``None`` when nothing was written.
    path: Path | None = None


def render_manifests(
    platform: Platform, env: str, workloads: list[Workload], out: Path | None = None
) -> list[WorkloadManifests]:
    """Render ``workloads`` for ``env``'s deployer; write one file each under ``out``."""
    from podium.engine.deploy_context import deploy_context
    from podium.engine.live_outputs import with_references
    from podium.engine.ownership import workload_owners
    from podium.workload.render import render_workload

    info = platform.environment(env)  # an unknown environment is an InputError
    deployer_name = platform.config.environments[env].deployer
    if deployer_name is None:
        raise InputError(f"environment {env!r} has no deployer", field=f"environments.{env}")
    registered = platform.plugins.registered(DEPLOYERS, deployer_name)
    deployer = registered.obj
    if not isinstance(deployer, Renderer):
        raise InputError(
            f"deployer {deployer_name!r} of environment {env!r} cannot render manifests",
            hint="podium render needs a deployer that renders (podium-kubernetes, say)",
        )
    owners = workload_owners(workloads, platform.root, platform.config.teams, required=False)
    store, cipher = platform.store(env), platform.cipher(env)
    records = {record.uid: record for record in store.records()}
    private = (info.state_dir.parent,)
    results = []
    for workload in sorted(workloads, key=lambda w: w.name):
        resources = {}
        for name, request in workload.resources.items():
            record = records.get(request.uid)
            if record is None:
                raise InputError(
                    f"{workload.name}: resource {name!r} ({request.uid}) is not provisioned "
                    f"in {env!r}, so its outputs are unknown",
                    hint=f"provision it first: podium up -e {env}",
                )
            resources[name] = RenderedResource(
                uid=request.uid,
                type=request.type,
                resource_class=request.resource_class,
                # live outputs render as references: podium render never reads them
                outputs=with_references(request.uid, cipher.unseal(record.outputs)),
            )
        rendered = render_workload(workload, resources, private_paths=private)
        if workload.path is not None:
            rendered.extensions.setdefault("podium.source_dir", str(workload.path.parent.resolve()))
        platform.plugins.broadcast("podium_enrich_deployment", workload=rendered, env=info)
        deployed = records.get(f"deployment:{workload.name}")
        ctx = deploy_context(
            registered,
            workload.name,
            info,
            recorded_outputs=deployed.outputs if deployed is not None else None,
            plugins=platform.plugins,
            owner=owners.get(workload.name),
        )
        # The release running now (1 before the first deploy): the same bytes ``up`` wrote.
        ctx = replace(ctx, release=ctx.previous_release or 1)
        objects = platform.plugins.call_instrumented(
            registered.plugin, f"{deployer_name}.render", deployer.manifests, ctx, rendered
        )
        text = deployer.manifest_text(objects)
        refuse_secret_values(rendered, text)
        path = None
        if out is not None:
            from podium.supervision.state_files import write_atomic

            path = out / f"{workload.name}{deployer.manifest_suffix}"
            write_atomic(path, text, mode=0o644)
        results.append(WorkloadManifests(workload.name, deployer_name, objects, text, path))
    return results


def refuse_secret_values(workload: RenderedWorkload, text: str) -> None:
    """Raise when ``text`` holds one of the workload's secret values (never naming it)."""
    for secret in _secrets(workload.model_dump()):
        value = secret.reveal()
        if len(value) >= 4 and value in text:  # shorter values match by chance
            raise ResourceError(
                f"the manifests rendered for {workload.name} contain one of its secret values",
                hint="a deployer or a podium_patch_manifests hook put it there: rendered "
                "files must refer to secrets, never hold them",
            )


def _secrets(value: Any) -> Iterator[Secret]:
    if isinstance(value, Secret):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets(item)
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        for item in value:
            yield from _secrets(item)
