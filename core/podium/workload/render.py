"""Rendering: a workload plus its resources' outputs becomes a RenderedWorkload.

Placeholders are expanded where Score expands them (container variables, file
content and source files unless ``noExpand``, volume sources, resource params).
``command`` and ``args`` are left alone, as Score does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import InputError, WorkloadError
from podium.security.secret import Secret
from podium.workload.confine import HostPathRefused, read_source_file, resolve_source
from podium.workload.placeholders import (
    ExpansionBudget,
    ExpansionTooLarge,
    expand,
    references,
    substitute,
)
from podium.workload.source import FieldPath, dotted

if TYPE_CHECKING:
    from podium.deployment.contract import (
        Probe,
        RenderedContainer,
        RenderedFile,
        RenderedResource,
        RenderedVolume,
        RenderedWorkload,
    )
    from podium.workload.model import ResourceRequest, Workload

#: Largest ``files.*.source`` file read into a rendered workload.
MAX_SOURCE_BYTES = 4 * 1024 * 1024


class _Failure(Exception):
    """A placeholder could not be resolved; the caller adds file and field."""


def lookup_metadata(metadata: Mapping[str, Any], keys: list[str]) -> Any:
    """Resolve ``${metadata.<keys>}``: nested lookup in the workload's metadata."""
    if not keys:
        raise _Failure("a metadata placeholder needs a key: ${metadata.name}")
    return _dig(metadata, keys, "metadata")


def _dig(value: Any, keys: list[str], walked: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            raise _Failure(f"{walked} is not a mapping, so it has no key {key!r}")
        if key not in value:
            known = ", ".join(sorted(map(str, value))) or "none"
            raise _Failure(f"{walked} has no key {key!r}; available: {known}")
        value = value[key]
        walked += "." + key
    return value


def make_resolver(
    metadata: Mapping[str, Any],
    uids: Mapping[str, str],
    outputs: Mapping[str, Mapping[str, Any] | None],
) -> Callable[[list[str]], Any]:
    """The resolver for one workload: ``uids`` and ``outputs`` are keyed by resource name.

    ``${resources.<name>}`` is the resource's uid; ``${resources.<name>.<key>...}`` digs
    into its outputs. An output of ``None`` means the resource has no outputs yet.
    """

    def resolve(parts: list[str]) -> Any:
        root = parts[0]
        if root == "metadata":
            return lookup_metadata(metadata, parts[1:])
        if root != "resources":
            raise _Failure(f"unknown placeholder root {root!r}: use metadata or resources")
        if len(parts) < 2:
            raise _Failure("a resources placeholder needs a resource name: ${resources.db.host}")
        name = parts[1]
        if name not in uids:
            known = ", ".join(sorted(uids)) or "none"
            raise _Failure(f"no resource named {name!r}; known: {known}")
        if len(parts) == 2:
            return uids[name]
        values = outputs.get(name)
        if values is None:
            raise _Failure(f"resource {name!r} ({uids[name]}) has no outputs yet")
        head = parts[2]
        if head not in values:
            known = ", ".join(sorted(map(str, values))) or "none"
            raise _Failure(
                f"resource {name!r} ({uids[name]}) has no output {head!r}; "
                f"available outputs: {known}"
            )
        return _dig(values[head], parts[3:], f"resources.{name}.{head}")

    return resolve


def resolve_params(
    request: ResourceRequest,
    outputs_by_name: Mapping[str, Mapping[str, Any] | RenderedResource],
) -> dict[str, Any]:
    """Expand one resource's params from the outputs of the resources it depends on.

    ``outputs_by_name`` is keyed by resource name within the same workload; values are
    output mappings, ``{"uid", "type", "class", "outputs"}`` descriptors or RenderedResource
    objects. Secrets stay Secrets.
    """
    outputs = {name: _outputs_of(value) for name, value in outputs_by_name.items()}
    resolve = make_resolver(request.workload_metadata, request.sibling_uids, outputs)
    try:
        expanded: dict[str, Any] = expand(request.params, resolve, ExpansionBudget())
    except (_Failure, ExpansionTooLarge) as exc:
        raise WorkloadError(
            f"cannot expand params of resource {request.name!r}: {exc}",
            location=request.location,
            field=f"resources.{request.name}.params",
        ) from None
    return expanded


_DESCRIPTOR_KEYS = frozenset({"uid", "type", "class", "resource_class", "outputs"})


def _outputs_of(value: Any) -> Mapping[str, Any]:
    """Outputs from a RenderedResource, a ``{"uid", "type", "class", "outputs"}`` descriptor,
    or a plain outputs mapping."""
    outputs = getattr(value, "outputs", None)
    if outputs is None and isinstance(value, Mapping):
        is_descriptor = "outputs" in value and "uid" in value and set(value) <= _DESCRIPTOR_KEYS
        outputs = value["outputs"] if is_descriptor else value
    return outputs if isinstance(outputs, Mapping) else {}


def render_workload(
    workload: Workload,
    resources: Mapping[str, RenderedResource],
    *,
    private_paths: Iterable[Path] = (),
) -> RenderedWorkload:
    """Resolve every placeholder of ``workload`` against ``resources`` (keyed by resource name).

    ``files.*.source`` are read only from inside the workload's directory and never
    from ``private_paths`` (the platform's state directory, say); placeholders may
    insert at most MAX_EXPANDED_VALUE characters per value and MAX_EXPANDED_TOTAL per
    workload (podium.workload.placeholders).

    Raises WorkloadError (or WorkloadErrors with all problems) naming file, line and field.
    """
    from podium.deployment.contract import RenderedWorkload, ServicePort

    uids = {name: request.uid for name, request in workload.resources.items()}
    for name, rendered in resources.items():
        uids.setdefault(name, rendered.uid)
    outputs = {name: rendered.outputs for name, rendered in resources.items()}
    resolve = make_resolver(workload.metadata, uids, outputs)
    renderer = _Renderer(workload, resolve, resources, tuple(private_paths))
    containers = {
        cname: renderer.container(cname, spec) for cname, spec in workload.containers.items()
    }
    ports = {
        pname: ServicePort(
            port=port["port"],
            target_port=port.get("targetPort", port["port"]),
            protocol=port.get("protocol", "TCP"),
        )
        for pname, port in workload.ports.items()
    }
    renderer.raise_errors()
    return RenderedWorkload(
        name=workload.name,
        containers=containers,
        ports=ports,
        annotations=dict(workload.annotations),
        resources=dict(resources),
    )


class _Renderer:
    def __init__(
        self,
        workload: Workload,
        resolve: Callable[[list[str]], Any],
        resources: Mapping[str, RenderedResource],
        private_paths: tuple[Path, ...] = (),
    ) -> None:
        self.workload = workload
        self.resolve = resolve
        self.resources = resources
        self.errors: list[InputError] = []
        self.budget = ExpansionBudget()
        self.private_paths = private_paths

    def fail(self, field: FieldPath, message: str) -> None:
        self.errors.append(
            WorkloadError(message, location=self.workload.location(*field), field=dotted(field))
        )

    def raise_errors(self) -> None:
        from podium.workload.loader import WorkloadErrors

        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise WorkloadErrors(self.errors)

    def expand(self, field: FieldPath, template: str) -> str | Secret:
        try:
            return substitute(template, self.resolve, self.budget)
        except _Failure as exc:
            self.fail(field, f"cannot expand placeholder: {exc}")
            return ""
        except ExpansionTooLarge as exc:
            self.fail(field, str(exc))
            return ""

    def container(self, cname: str, spec: Mapping[str, Any]) -> RenderedContainer:
        from podium.deployment.contract import RenderedContainer

        here: FieldPath = ("containers", cname)
        variables = {
            key: self.expand((*here, "variables", key), value)
            for key, value in (spec.get("variables") or {}).items()
        }
        files = [
            self.file((*here, "files", target), target, file)
            for target, file in (spec.get("files") or {}).items()
        ]
        volumes = [
            self.volume((*here, "volumes", target), target, volume)
            for target, volume in (spec.get("volumes") or {}).items()
        ]
        compute = spec.get("resources") or {}
        return RenderedContainer(
            name=cname,
            image=spec["image"],
            command=list(spec.get("command") or []),
            args=list(spec.get("args") or []),
            variables=variables,
            files=[file for file in files if file is not None],
            volumes=volumes,
            limits=dict(compute.get("limits") or {}),
            requests=dict(compute.get("requests") or {}),
            readiness_probe=_probe(spec.get("readinessProbe")),
            liveness_probe=_probe(spec.get("livenessProbe")),
            before={name: value["ready"] for name, value in (spec.get("before") or {}).items()},
        )

    def file(self, here: FieldPath, target: str, spec: Mapping[str, Any]) -> RenderedFile | None:
        from podium.deployment.contract import RenderedFile

        mode = spec.get("mode")
        if "binaryContent" in spec:
            return RenderedFile(target=target, binary_content=spec["binaryContent"], mode=mode)
        no_expand = bool(spec.get("noExpand"))
        if "content" in spec:
            text = spec["content"]
        else:
            raw = self.read_source((*here, "source"), spec["source"])
            if raw is None:
                return None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                if no_expand:
                    encoded = base64.b64encode(raw).decode("ascii")
                    return RenderedFile(target=target, binary_content=encoded, mode=mode)
                self.fail(
                    (*here, "source"),
                    f"{spec['source']} is not UTF-8 text, so placeholders cannot be expanded "
                    "in it; set noExpand: true to mount it unchanged",
                )
                return None
        field = (*here, "content") if "content" in spec else (*here, "source")
        content = text if no_expand else self.expand(field, text)
        return RenderedFile(target=target, content=content, mode=mode)

    def read_source(self, field: FieldPath, source: str) -> bytes | None:
        base = self.workload.path.parent if self.workload.path is not None else None
        try:
            # Checked again here, not only at validate: the file system may have changed.
            file = resolve_source(base, source, self.private_paths)
        except HostPathRefused as exc:
            self.fail(field, str(exc))
            return None
        try:
            return read_source_file(file, MAX_SOURCE_BYTES)
        except HostPathRefused as exc:
            self.fail(field, str(exc))
        except FileNotFoundError:
            self.fail(
                field,
                f"file {source!r} not found (looked for {file}); relative paths are read from "
                "the Score file's directory",
            )
        except OSError as exc:
            self.fail(field, f"cannot read {file}: {exc.strerror or exc}")
        return None

    def volume(self, here: FieldPath, target: str, spec: Mapping[str, Any]) -> RenderedVolume:
        from podium.deployment.contract import RenderedVolume

        template: str = spec["source"]
        refs = references(template)
        source: dict[str, Any]
        whole = len(refs) == 1 and template.startswith("${") and template.endswith("}")
        if whole and len(refs[0]) == 2 and refs[0][0] == "resources":
            name = refs[0][1]
            rendered = self.resources.get(name)
            if rendered is None:
                self.fail(
                    (*here, "source"),
                    f"volume resource {name!r} has no outputs: it was not provisioned",
                )
                source = {}
            else:
                source = dict(rendered.outputs)
        else:
            value = self.expand((*here, "source"), template)
            by_uid = {r.uid: r for r in self.resources.values()}
            match = by_uid.get(value) if isinstance(value, str) else None
            source = dict(match.outputs) if match is not None else {"source": value}
        return RenderedVolume(
            target=target,
            source=source,
            path=spec.get("path"),
            read_only=bool(spec.get("readOnly", False)),
        )


def _probe(spec: Mapping[str, Any] | None) -> Probe | None:
    from podium.deployment.contract import HttpProbe, Probe

    if not spec:
        return None
    http = spec.get("httpGet")
    run = spec.get("exec")
    return Probe(
        http_get=HttpProbe(
            port=http["port"],
            path=http.get("path", "/"),
            host=http.get("host"),
            scheme=http.get("scheme", "HTTP"),
            headers={h["name"]: h["value"] for h in http.get("httpHeaders") or []},
        )
        if http
        else None,
        exec_command=list(run["command"]) if run else None,
    )


__all__ = ["lookup_metadata", "make_resolver", "render_workload", "resolve_params"]
