"""A rendered workload as Kubernetes objects.

Order is fixed (secrets reference, files, claims, the workload, its Service, Ingress,
autoscaler, disruption budget) and every mapping is built in a fixed order, so the
same workload always gives the same objects, byte for byte once dumped. Secret
values never enter an object: variables and files holding one are read from the
Secret ``<workload>-secrets``, which an ``ExternalSecret`` fills (or the platform
provides, with ``secrets = "omit"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.plugin import (
    Probe,
    RenderedContainer,
    RenderedFile,
    RenderedWorkload,
    ResourceError,
    Secret,
)
from podium_kubernetes.annotations import WorkloadShape, shape
from podium_kubernetes.names import dns_label, env_key, label_value, port_name
from podium_kubernetes.settings import EnvironmentOptions

Obj = dict[str, Any]

MANAGED_BY = "podium"
WORKLOAD_LABEL = "podium.dev/workload"
ENVIRONMENT_LABEL = "podium.dev/environment"
PLATFORM_LABEL = "app.kubernetes.io/part-of"
RELEASE_LABEL = "podium.dev/release"
OWNER_LABEL = "podium.dev/owner"
SECRETS_NOTE = "podium.dev/secrets"

API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}


@dataclass(frozen=True)
class Target:
    """Where a workload goes: platform, environment, release, owner and the options."""

    platform: str
    environment: str
    release: int
    owner: str | None
    options: EnvironmentOptions


def selector_labels(name: str, target: Target) -> dict[str, str]:
    """The labels that pick a workload's pods (stable across releases)."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": label_value(f"{target.platform}-{target.environment}-{name}"),
    }


def prune_selector(target: Target) -> str:
    """The label selector of everything rendered for one platform and environment."""
    return (
        f"app.kubernetes.io/managed-by={MANAGED_BY},"
        f"{PLATFORM_LABEL}={label_value(target.platform)},"
        f"{ENVIRONMENT_LABEL}={label_value(target.environment)}"
    )


def render_objects(workload: RenderedWorkload, target: Target) -> list[Obj]:
    """Every object that runs ``workload`` in ``target``, in a stable order."""
    return _Renderer(workload, target).objects()


class _Renderer:
    def __init__(self, workload: RenderedWorkload, target: Target) -> None:
        self.w = workload
        self.t = target
        self.name = dns_label(workload.name)
        self.shape: WorkloadShape = shape(workload.name, workload.annotations, target.options)
        self.secret_name = f"{self.name}-secrets"
        self.files_name = f"{self.name}-files"
        # filled while building containers: what goes into the Secret and the ConfigMap
        self.secret_keys: list[str] = []
        self.file_data: dict[str, str] = {}
        self.file_binary: dict[str, str] = {}
        self.file_modes: dict[str, int | None] = {}  # every file key, with its mode

    # --- metadata ---------------------------------------------------------------
    def labels(self) -> dict[str, str]:
        labels = {
            **selector_labels(self.name, self.t),
            "app.kubernetes.io/managed-by": MANAGED_BY,
            PLATFORM_LABEL: label_value(self.t.platform),
            ENVIRONMENT_LABEL: label_value(self.t.environment),
            WORKLOAD_LABEL: self.name,
            RELEASE_LABEL: str(self.t.release),
        }
        owner = label_value(self.t.owner or "")
        if owner:
            labels[OWNER_LABEL] = owner
        for key, value in sorted(self.w.labels.items()):  # enrichment (team, cost centre)
            labels.setdefault(key, label_value(value))
        return labels

    def meta(self, name: str, **extra: Any) -> Obj:
        metadata: Obj = {"name": name}
        if self.t.options.namespace:
            metadata["namespace"] = self.t.options.namespace
        metadata["labels"] = self.labels()
        metadata.update(extra)
        return metadata

    # --- the whole set ----------------------------------------------------------
    def objects(self) -> list[Obj]:
        pod = self.pod_spec()  # first: it collects secret keys and files
        objects: list[Obj] = []
        if self.secret_keys and self.t.options.secrets == "external-secrets":
            objects.append(self.external_secret())
        if self.file_data or self.file_binary:
            objects.append(self.config_map())
        objects += self.claims()
        objects.append(self.workload_object(pod))
        service = self.service()
        if service is not None:
            objects.append(service)
        ingress = self.ingress()
        if ingress is not None:
            objects.append(ingress)
        if self.shape.autoscale is not None:
            objects.append(self.autoscaler())
        if self.shape.disruption_budget is not None:
            objects.append(self.disruption_budget())
        return objects

    # --- pods -------------------------------------------------------------------
    def pod_spec(self) -> Obj:
        waited_to_complete = {
            dep
            for container in self.w.containers.values()
            for dep, condition in container.before.items()
            if condition == "complete"
        }
        init: list[Obj] = []
        main: list[Obj] = []
        volumes: list[Obj] = []
        for index, (cname, container) in enumerate(self.w.containers.items()):
            spec = self.container(cname, container, index == 0, volumes)
            (init if cname in waited_to_complete else main).append(spec)
        if not main:
            raise ResourceError(f"{self.w.name}: every container is awaited to complete")
        pod: Obj = {}
        if init:
            pod["initContainers"] = init
        pod["containers"] = main
        if self.shape.kind in ("Job", "CronJob"):
            pod["restartPolicy"] = "OnFailure"
        file_volumes = self.file_volumes()
        if file_volumes or volumes:
            pod["volumes"] = file_volumes + volumes
        return pod

    def container(self, cname: str, c: RenderedContainer, first: bool, volumes: list[Obj]) -> Obj:
        image = self.t.options.images.get(c.image, c.image)
        if image == ".":
            raise ResourceError(
                f"{self.w.name}: container {cname} builds its image from the workload's "
                "directory, which podium-kubernetes cannot do",
                hint="build and push the image in CI and name it in the Score file, or map "
                "it in [plugins.kubernetes.environments.<env>] images",
            )
        spec: Obj = {"name": dns_label(cname), "image": image}
        if c.command:
            spec["command"] = list(c.command)
        if c.args:
            spec["args"] = list(c.args)
        if first and self.w.ports:
            spec["ports"] = [
                {"containerPort": p.target_port, "protocol": p.protocol}
                for p in _unique_targets(self.w)
            ]
        env = [self.env_var(cname, key, value) for key, value in c.variables.items()]
        if env:
            spec["env"] = env
        resources = {
            key: checked_quantities(f"{self.w.name}.containers.{cname}.resources.{key}", value)
            for key, value in (("limits", c.limits), ("requests", c.requests))
            if value
        }
        if resources:
            spec["resources"] = resources
        if c.readiness_probe is not None:
            spec["readinessProbe"] = _probe(c.readiness_probe)
        if c.liveness_probe is not None:
            spec["livenessProbe"] = _probe(c.liveness_probe)
        mounts = [self.file_mount(cname, i, f) for i, f in enumerate(c.files)]
        for i, volume in enumerate(c.volumes):
            claim = volume.source.get("claim")
            if not isinstance(claim, str):
                raise ResourceError(
                    f"{self.w.name}: volume {volume.target} of container {cname} is not a "
                    "Kubernetes claim",
                    hint="provision volume resources with kubernetes-volume in this environment",
                )
            vname = f"vol-{dns_label(cname, 20)}-{i}"
            volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim}})
            mount: Obj = {"name": vname, "mountPath": volume.target}
            if volume.path:
                mount["subPath"] = volume.path.lstrip("/")
            if volume.read_only:
                mount["readOnly"] = True
            mounts.append(mount)
        if mounts:
            spec["volumeMounts"] = mounts
        return spec

    def env_var(self, cname: str, key: str, value: str | Secret) -> Obj:
        if not isinstance(value, Secret):
            return {"name": key, "value": value}
        secret_key = env_key(f"{cname}.{key}")
        self.secret_keys.append(secret_key)
        return {
            "name": key,
            "valueFrom": {"secretKeyRef": {"name": self.secret_name, "key": secret_key}},
        }

    def file_mount(self, cname: str, index: int, f: RenderedFile) -> Obj:
        key = env_key(f"{cname}.file-{index}")
        if isinstance(f.content, Secret):
            self.secret_keys.append(key)
            volume = "secret-files"
        elif f.binary_content is not None:
            self.file_binary[key] = f.binary_content
            volume = "files"
        else:
            self.file_data[key] = f.content or ""
            volume = "files"
        self.file_modes[key] = int(f.mode, 8) if f.mode else None
        return {"name": volume, "mountPath": f.target, "subPath": key, "readOnly": True}

    def file_volumes(self) -> list[Obj]:
        volumes: list[Obj] = []
        plain = sorted({*self.file_data, *self.file_binary})
        if plain:
            volumes.append(
                {
                    "name": "files",
                    "configMap": {"name": self.files_name, "items": self._items(plain)},
                }
            )
        secret_files = [k for k in self.secret_keys if k in self.file_modes]
        if secret_files:
            volumes.append(
                {
                    "name": "secret-files",
                    "secret": {"secretName": self.secret_name, "items": self._items(secret_files)},
                }
            )
        return volumes

    def _items(self, keys: list[str]) -> list[Obj]:
        items = []
        for key in keys:
            item: Obj = {"key": key, "path": key}
            mode = self.file_modes.get(key)
            if mode is not None:
                item["mode"] = mode
            items.append(item)
        return items

    # --- objects ----------------------------------------------------------------
    def workload_object(self, pod: Obj) -> Obj:
        kind = self.shape.kind
        annotations = {}
        if self.secret_keys and self.t.options.secrets == "omit":
            annotations = {
                SECRETS_NOTE: f"secret values are not rendered: create Secret {self.secret_name} "
                f"with keys {', '.join(self.secret_keys)}"
            }
        metadata = self.meta(self.name, **({"annotations": annotations} if annotations else {}))
        template = {"metadata": {"labels": self.labels()}, "spec": pod}
        selector = {"matchLabels": selector_labels(self.name, self.t)}
        spec: Obj
        if kind == "Deployment":
            spec = {"selector": selector, "template": template}
            if self.shape.autoscale is None:
                spec = {"replicas": self.shape.replicas, **spec}
        elif kind == "StatefulSet":
            spec = {"serviceName": self.name, "selector": selector, "template": template}
            if self.shape.autoscale is None:
                spec = {"replicas": self.shape.replicas, **spec}
        elif kind == "Job":
            spec = {"backoffLimit": 6, "template": template}
        else:  # CronJob
            spec = {
                "schedule": self.shape.schedule,
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": {"backoffLimit": 6, "template": template}},
            }
        return {"apiVersion": API_VERSIONS[kind], "kind": kind, "metadata": metadata, "spec": spec}

    def service(self) -> Obj | None:
        if not self.w.ports and self.shape.kind != "StatefulSet":
            return None
        spec: Obj = {"selector": selector_labels(self.name, self.t)}
        if self.w.ports:
            spec["ports"] = [
                {
                    "name": port_name(pname),
                    "port": p.port,
                    "targetPort": p.target_port,
                    "protocol": p.protocol,
                }
                for pname, p in self.w.ports.items()
            ]
        if self.shape.kind == "StatefulSet":
            spec["clusterIP"] = "None"  # headless: stable pod names
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.meta(self.name),
            "spec": spec,
        }

    def external_secret(self) -> Obj:
        o = self.t.options
        remote = f"{o.secret_key_prefix}{self.t.platform}/{self.t.environment}/{self.w.name}"
        return {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": self.meta(self.name),
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": o.secret_store, "kind": o.secret_store_kind},
                "target": {"name": self.secret_name, "creationPolicy": "Owner"},
                "data": [
                    {"secretKey": key, "remoteRef": {"key": remote, "property": key}}
                    for key in sorted(self.secret_keys)
                ],
            },
        }

    def config_map(self) -> Obj:
        cm: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.meta(self.files_name)}
        if self.file_data:
            cm["data"] = dict(sorted(self.file_data.items()))
        if self.file_binary:
            cm["binaryData"] = dict(sorted(self.file_binary.items()))
        return cm

    def claims(self) -> list[Obj]:
        claims = []
        for _, resource in sorted(self.w.resources.items()):
            outputs = resource.outputs
            if resource.type != "volume" or not isinstance(outputs.get("claim"), str):
                continue
            spec: Obj = {
                "accessModes": [str(outputs.get("access_mode") or "ReadWriteOnce")],
                "resources": {"requests": {"storage": str(outputs.get("size") or "1Gi")}},
            }
            if outputs.get("storage_class"):
                spec["storageClassName"] = str(outputs["storage_class"])
            claims.append(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": self.meta(str(outputs["claim"])),
                    "spec": spec,
                }
            )
        return claims

    def ingress(self) -> Obj | None:
        rules: dict[str, list[Obj]] = {}
        for rname, resource in sorted(self.w.resources.items()):
            if resource.type != "route":
                continue
            out = resource.outputs
            host = out.get("host")
            if not isinstance(host, str) or not host:
                raise ResourceError(f"{self.w.name}: route {rname} has no host output")
            port = self.service_port(rname, out.get("port"))
            path = str(out.get("path") or "/")
            backend = {"service": {"name": self.name, "port": {"number": port}}}
            rules.setdefault(host, []).append(
                {"path": path, "pathType": "Prefix", "backend": backend}
            )
        if not rules:
            return None
        spec: Obj = {}
        if self.t.options.ingress_class:
            spec["ingressClassName"] = self.t.options.ingress_class
        spec["rules"] = [
            {"host": host, "http": {"paths": paths}} for host, paths in sorted(rules.items())
        ]
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": self.meta(self.name),
            "spec": spec,
        }

    def service_port(self, route: str, port: Any) -> int:
        """The Service port a route names (a Score port name or number)."""
        for pname, p in self.w.ports.items():
            if str(port) in (pname, str(p.port)):
                return p.port
        known = ", ".join(f"{n} ({p.port})" for n, p in self.w.ports.items()) or "none"
        raise ResourceError(
            f"{self.w.name}: route {route} names port {port!r}, which the workload does not "
            f"offer (service ports: {known})"
        )

    def autoscaler(self) -> Obj:
        assert self.shape.autoscale is not None
        low, high = self.shape.autoscale
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": self.meta(self.name),
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": API_VERSIONS[self.shape.kind],
                    "kind": self.shape.kind,
                    "name": self.name,
                },
                "minReplicas": low,
                "maxReplicas": high,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": self.shape.autoscale_cpu,
                            },
                        },
                    }
                ],
            },
        }

    def disruption_budget(self) -> Obj:
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": self.meta(self.name),
            "spec": {
                "minAvailable": self.shape.disruption_budget,
                "selector": {"matchLabels": selector_labels(self.name, self.t)},
            },
        }


def _unique_targets(workload: RenderedWorkload) -> list[Any]:
    seen: dict[tuple[int, str], Any] = {}
    for port in workload.ports.values():
        seen.setdefault((port.target_port, port.protocol), port)
    return list(seen.values())


def checked_quantities(where: str, given: dict[str, str]) -> dict[str, str]:
    """Score resource quantities as written, once each parses as a Kubernetes quantity.

    The schemas take any string for a quantity; the API server would refuse ``lots``
    at apply time, far from the Score file, so it is refused at render time here.
    """
    from lightkube.utils.quantity import parse_quantity

    for name, value in given.items():
        try:
            parsed = parse_quantity(str(value))
        except (ValueError, ArithmeticError):
            parsed = None
        if parsed is None or parsed < 0:
            raise ResourceError(
                f"{where}.{name}: {value!r} is not a quantity",
                hint="Score quantities: cpu as 500m, 0.5 or 2; memory as 128Mi, 1G or 1.5Gi",
            )
    return dict(given)


def _probe(probe: Probe) -> Obj:
    if probe.http_get is not None:
        http: Obj = {"path": probe.http_get.path, "port": probe.http_get.port}
        if probe.http_get.host:
            http["host"] = probe.http_get.host
        if probe.http_get.scheme != "HTTP":
            http["scheme"] = probe.http_get.scheme
        if probe.http_get.headers:
            http["httpHeaders"] = [
                {"name": k, "value": v} for k, v in sorted(probe.http_get.headers.items())
            ]
        return {"httpGet": http, "periodSeconds": 5}
    if probe.exec_command:
        return {"exec": {"command": list(probe.exec_command)}, "periodSeconds": 5}
    raise ResourceError("a probe needs httpGet or exec")


def secret_values(workload: RenderedWorkload) -> dict[str, Secret]:
    """The workload's secret values by the key its Secret holds them under.

    The keys are the ones :func:`render_objects` refers to (``<container>.<VARIABLE>``,
    ``<container>.file-<n>``); a mode that runs the objects here delivers these.
    """
    values: dict[str, Secret] = {}
    for cname, container in workload.containers.items():
        for key, value in container.variables.items():
            if isinstance(value, Secret):
                values[env_key(f"{cname}.{key}")] = value
        for index, f in enumerate(container.files):
            if isinstance(f.content, Secret):
                values[env_key(f"{cname}.file-{index}")] = f.content
    return values
