"""Strict schema validation of every object, for one Kubernetes version.

Built-in kinds are checked with kubernetes-validate's strict schemas (unknown fields
refused). ``ExternalSecret`` is not a built-in kind: its shape is checked here for
the fields this plugin writes (the tests check it against the CRD's schema too). Any
other kind has no schema here and is refused: a patch cannot slip in what nobody
validated (fail closed).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from podium.plugin import ResourceError


@cache
def newest_version() -> str:
    import kubernetes_validate

    return str(kubernetes_validate.latest_version())


@cache
def known_versions() -> tuple[str, ...]:
    """The Kubernetes versions kubernetes-validate has schemas for (``1.25``...)."""
    from kubernetes_validate.utils import all_versions, major_minor

    return tuple(sorted({str(major_minor(v)) for v in all_versions()}, key=_key))


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.removeprefix("v").split(".")[:2])


def check_version(version: str) -> str:
    """``version`` as ``major.minor`` when schemas exist for it; a ResourceError otherwise."""
    known = known_versions()
    try:
        wanted = _key(version)
    except ValueError:
        wanted = (0, 0)
    if len(wanted) != 2 or not (_key(known[0]) <= wanted <= _key(known[-1])):
        raise ResourceError(
            f"kubernetes_version {version!r} cannot be validated: kubernetes-validate has "
            f"schemas for {known[0]} to {known[-1]}",
            hint="set [plugins.kubernetes] kubernetes_version within that range",
        )
    return f"{wanted[0]}.{wanted[1]}"


def validate_objects(workload: str, objects: list[dict[str, Any]], version: str | None) -> None:
    """Raise a ResourceError naming the first invalid object, field and reason."""
    import kubernetes_validate

    version = check_version(version or newest_version())
    names: set[tuple[str, str, str]] = set()
    for obj in objects:
        if not isinstance(obj, dict):
            raise ResourceError(
                f"{workload}: a rendered object is not a mapping: {type(obj).__name__}"
            )
        kind, name = str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))
        what = f"{workload}: {kind}/{name}"
        key = (str(obj.get("apiVersion")), kind, name)
        if key in names:
            raise ResourceError(f"{what} is rendered twice")
        names.add(key)
        if obj.get("apiVersion") == "external-secrets.io/v1" and kind == "ExternalSecret":
            _check_external_secret(what, obj)
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            raise ResourceError(
                f"{what}: Kubernetes {version} has no {obj.get('apiVersion')} {kind}, and "
                "podium-kubernetes validates nothing it has no schema for",
                hint="patch only built-in kinds (or ExternalSecret); apply custom "
                "resources outside Podium",
            ) from None
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.absolute_path) or "(object)"
            raise ResourceError(
                f"{what} is not valid Kubernetes {version}: {path}: {exc.message[:300]}"
            ) from None


_ES_SPEC = {"refreshInterval", "secretStoreRef", "target", "data"}


def _check_external_secret(what: str, obj: dict[str, Any]) -> None:
    extra = set(obj) - {"apiVersion", "kind", "metadata", "spec"}
    spec = obj.get("spec")
    if extra or not isinstance(spec, dict) or set(spec) - _ES_SPEC:
        raise ResourceError(f"{what}: unexpected fields for an ExternalSecret")
    store = spec.get("secretStoreRef")
    if not isinstance(store, dict) or not store.get("name"):
        raise ResourceError(f"{what}: spec.secretStoreRef.name is required")
    for entry in spec.get("data") or []:
        ref = entry.get("remoteRef") if isinstance(entry, dict) else None
        if not isinstance(ref, dict) or not ref.get("key") or not entry.get("secretKey"):
            raise ResourceError(f"{what}: every spec.data entry needs secretKey and remoteRef.key")
