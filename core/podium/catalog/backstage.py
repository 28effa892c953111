"""Backstage catalog entities for what a platform runs, read from its state.

* one **System** per platform (its owner: ``--owner``, the platform team);
* one **Component** (type ``service``) per deployed workload, owned by the workload's
  owner (:mod:`podium.identity`), ``dependsOn`` the Resources it uses;
* one **Resource** per resource (its Score type as ``spec.type``), owned like the
  workloads that declare it, ``dependsOn`` the resources it needs.

Entities span environments: a workload deployed to ``dev`` and ``prod`` is one
Component, its environments listed in the ``podium.dev/environments`` annotation; it
is ``production`` when one of them is named ``prod`` or ``production``, else
``experimental``. Owners become Group references: a team name as it is, a directory
owner (``teams/a``) with its separators made dashes; ``.`` (next to
``podium.toml``) and records without an owner are the platform team's.

Nothing here reads outputs or secrets: only names, types, owners and dependencies.

Golden paths: a service made by ``podium new`` carries its template's name and version
as Score annotations, which the deployment record keeps in its attributes; the Component
gets them as ``podium.dev/template`` and ``podium.dev/template-version``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podium.golden_paths.provenance import from_attributes
from podium.platform.contract import ResourceRecord

API_VERSION = "backstage.io/v1alpha1"
TEMPLATE_ANNOTATION = "podium.dev/template"
TEMPLATE_VERSION_ANNOTATION = "podium.dev/template-version"
#: Environments whose workloads are ``production`` in the catalog.
PRODUCTION = ("prod", "production")

CatalogEntity = dict[str, Any]

_NAME_MAX = 63
_INVALID = re.compile(r"[^A-Za-z0-9]+")


def entity_name(text: str) -> str:
    """A Backstage entity name for ``text``: 1-63 characters, ``[A-Za-z0-9]`` runs joined by
    single ``-``, ``_`` or ``.`` (every other run of characters becomes one ``-``)."""
    parts = [p for p in re.split(r"([-_.])", text) if p]
    name = ""
    for part in parts:
        if part in "-_.":
            if name and name[-1] not in "-_.":
                name += part
            continue
        cleaned = _INVALID.sub("-", part).strip("-")
        if cleaned:
            name += cleaned
    name = name[:_NAME_MAX].strip("-_.")
    return name or "unnamed"


def owner_ref(owner: str | None, platform_owner: str) -> str:
    """The Backstage owner reference for a Podium owner (a team, a directory or none)."""
    if owner in (None, "", "."):
        return platform_owner
    return f"group:{entity_name(str(owner))}"


@dataclass
class _Seen:
    """One node as the environments' states record it."""

    record: ResourceRecord
    environments: list[str] = field(default_factory=list)


def backstage_entities(
    platform: str,
    records: Mapping[str, Iterable[ResourceRecord]],
    *,
    owner: str = "group:platform-team",
) -> list[CatalogEntity]:
    """The System, Components and Resources for ``records`` (by environment, in order)."""
    system = entity_name(platform)
    deployments: dict[str, _Seen] = {}
    resources: dict[str, _Seen] = {}
    for env, env_records in records.items():
        for record in env_records:
            kind = {"deployment": deployments, "resource": resources}.get(record.kind)
            if kind is None:
                continue  # observability nodes are part of their workload
            seen = kind.setdefault(record.uid, _Seen(record))
            seen.environments.append(env)
            if seen.record.owner is None and record.owner is not None:
                seen.record = record

    resource_names = _resource_names(resources)
    entities = [_system(system, platform, owner)]
    for uid in sorted(deployments, key=lambda u: _workload(deployments[u].record)):
        entities.append(_component(deployments[uid], system, owner, resource_names))
    for uid in sorted(resources, key=lambda u: resource_names[u]):
        entities.append(_resource(resources[uid], system, owner, resource_names))
    return entities


def _system(name: str, platform: str, owner: str) -> CatalogEntity:
    return {
        "apiVersion": API_VERSION,
        "kind": "System",
        "metadata": {
            "name": name,
            "description": f"The workloads and resources Podium runs on platform {platform}.",
            "annotations": {"podium.dev/platform": platform},
        },
        "spec": {"owner": owner},
    }


def _component(
    seen: _Seen, system: str, owner: str, resource_names: Mapping[str, str]
) -> CatalogEntity:
    record = seen.record
    workload = _workload(record)
    annotations = {
        "podium.dev/workload": workload,
        "podium.dev/environments": ",".join(seen.environments),
        "podium.dev/deployer": record.provider,
        "podium.dev/owner": record.owner or ".",
    }
    template = from_attributes(record.attributes)
    if template is not None:
        annotations[TEMPLATE_ANNOTATION] = template.name
        annotations[TEMPLATE_VERSION_ANNOTATION] = template.version
    spec: dict[str, Any] = {
        "type": "service",
        "lifecycle": "production"
        if any(env in PRODUCTION for env in seen.environments)
        else "experimental",
        "owner": owner_ref(record.owner, owner),
        "system": system,
    }
    depends = _depends(record, resource_names)
    if depends:
        spec["dependsOn"] = depends
    return {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {
            "name": entity_name(workload),
            "description": f"Workload {workload}, deployed by Podium.",
            "annotations": annotations,
        },
        "spec": spec,
    }


def _resource(
    seen: _Seen, system: str, owner: str, resource_names: Mapping[str, str]
) -> CatalogEntity:
    record = seen.record
    spec: dict[str, Any] = {
        "type": str(record.spec.get("type") or record.uid.split(".", 1)[0]),
        "owner": owner_ref(record.owner, owner),
        "system": system,
    }
    depends = _depends(record, resource_names)
    if depends:
        spec["dependsOn"] = depends
    return {
        "apiVersion": API_VERSION,
        "kind": "Resource",
        "metadata": {
            "name": resource_names[record.uid],
            "description": f"Resource {record.uid}, provisioned by Podium.",
            "annotations": {
                "podium.dev/uid": record.uid,
                "podium.dev/class": str(record.spec.get("class", "")),
                "podium.dev/provisioner": record.provider,
                "podium.dev/environments": ",".join(seen.environments),
                "podium.dev/owner": record.owner or ".",
            },
        },
        "spec": spec,
    }


def _workload(record: ResourceRecord) -> str:
    return str(record.spec.get("workload") or record.uid.split(":", 1)[-1])


def _resource_names(resources: Mapping[str, _Seen]) -> dict[str, str]:
    """Each resource's entity name: its shared id, or ``<workload>-<name>``; the type is
    added where two would share a name."""
    names: dict[str, str] = {}
    taken: dict[str, str] = {}
    for uid in sorted(resources):
        spec = resources[uid].record.spec
        base = spec.get("id") or f"{spec.get('workload', '')}-{spec.get('name', '')}".strip("-")
        name = entity_name(str(base or uid.split("#", 1)[-1]))
        if name in taken:
            name = entity_name(f"{name}-{spec.get('type', 'resource')}")
        while name in taken:
            name = entity_name(f"{name}-{len(taken)}")
        names[uid] = name
        taken[name] = uid
    return names


def _depends(record: ResourceRecord, resource_names: Mapping[str, str]) -> list[str]:
    return sorted(
        f"resource:{resource_names[uid]}" for uid in record.depends_on if uid in resource_names
    )


def render_yaml(entities: Iterable[CatalogEntity]) -> str:
    """``catalog-info.yaml``: one YAML document per entity."""
    import yaml

    return "".join(
        "---\n" + yaml.safe_dump(entity, sort_keys=False, allow_unicode=True) for entity in entities
    )


__all__ = [
    "API_VERSION",
    "PRODUCTION",
    "TEMPLATE_ANNOTATION",
    "TEMPLATE_VERSION_ANNOTATION",
    "CatalogEntity",
    "backstage_entities",
    "entity_name",
    "owner_ref",
    "render_yaml",
]
