"""The small provisioners: ``volume``, ``environment``, ``dns`` and ``service-port``."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from podium.plugin import (
    Output,
    Outputs,
    Param,
    Provisioner,
    ResourceContext,
    ResourceError,
    Secret,
)
from podium_local.files import plugin_dir
from podium_local.isolation import ensure_runtime_dir, prune_runtime_dir, runtime_dir
from podium_local.network import HOST
from podium_local.ports import PortRegistry
from podium_local.servers.safe_dirs import owned_dir
from podium_local.settings import Settings


class Reference:
    """Marks that a resource which creates nothing real (a name, a lookup) was "created".

    ``dns``, ``environment`` and ``secret`` only compute their outputs, but the
    provisioner contract says ``read`` after ``delete`` (or before ``create``)
    finds nothing; a marker file per resource gives them that lifecycle.
    """

    def __init__(self, ctx: ResourceContext) -> None:
        self.path = plugin_dir(ctx.env) / "references" / ctx.physical_name

    def exists(self) -> bool:
        return self.path.exists()

    def mark(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class LocalParams(BaseModel):
    """Params podium-local reads. Others are ignored, not refused: the same Score file
    may carry params for the provisioner another environment uses (AWS's, say)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class VolumeProvisioner(Provisioner):
    """A directory under ``<runtime>/volumes``; the deployer links it into workloads.

    ``<runtime>`` is ``<env state>/local``, or when workloads run as their own
    user (podium is root) the environment's runtime directory, which that user
    can reach (see :mod:`podium_local.isolation`); the deployer gives it the volume.
    """

    name: ClassVar[str] = "local-volume"
    resource_type: ClassVar[str] = "volume"
    holds_data: ClassVar[bool] = True
    params_model = LocalParams  # no params of its own
    output_fields: ClassVar[dict[str, Output]] = {
        "source": Output("The directory, for Score's volumes.source."),
        "path": Output("The same directory."),
    }

    def _path(self, ctx: ResourceContext) -> Path:
        return runtime_dir(ctx.env) / "volumes" / ctx.physical_name

    def create(self, ctx: ResourceContext) -> Outputs:
        path = self._path(ctx)
        owned_dir(ensure_runtime_dir(ctx.env) / "volumes", 0o711)
        # Versions before workload users kept volumes in the state dir: bring the data along.
        legacy = plugin_dir(ctx.env) / "volumes" / ctx.physical_name
        if legacy != path and legacy.is_dir() and not legacy.is_symlink() and not path.exists():
            shutil.move(str(legacy), str(path))
        path.mkdir(exist_ok=True, mode=0o700)
        return {"source": str(path), "path": str(path)}

    def read(self, ctx: ResourceContext) -> Outputs | None:
        path = self._path(ctx)
        return {"source": str(path), "path": str(path)} if path.is_dir() else None

    def delete(self, ctx: ResourceContext) -> None:
        shutil.rmtree(self._path(ctx), ignore_errors=True)
        prune_runtime_dir(ctx.env)


# Names that usually hold credentials: their values become Secrets so they are
# redacted in plans and encrypted in state.
SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY", re.I
)


def parse_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; ``#`` comments, ``export`` prefixes and matching quotes are allowed.

    Errors give the line number only: the line may hold a secret.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ResourceError(f"{path}:{number}: expected KEY=value (a dotenv line)")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


#: Podium's own variables (the state key among them) are never offered to a workload.
PODIUM_PREFIX = "PODIUM_"


class EnvironmentParams(LocalParams):
    allow: str | list[str] | None = Param(
        None, platform_only=True, description="Process environment variables offered."
    )
    prefix: str | list[str] | None = Param(
        None, platform_only=True, description="Offer every variable starting with it."
    )
    file: str | None = Param(
        None,
        platform_only=True,
        description="A dotenv file, offered whole (default: the dotenv setting).",
    )
    keys: str | list[str] | None = Param(
        None, description="Take only these of the offered variables."
    )


class EnvironmentProvisioner(Provisioner):
    """Values from the operator's environment and a dotenv file, as far as the platform allows.

    The operator's environment is trusted and private (it may hold the state key or a
    database password), so what a workload sees is decided by the platform's rule:

    * ``allow`` (rule only): names of process environment variables offered;
    * ``prefix`` (rule only): offer every variable starting with it (a string or a list);
    * ``file`` (rule only; default: the ``dotenv`` setting): a dotenv file, offered whole;
    * ``keys`` (the workload may set it): take only these of the allowed variables;
      naming one the rule does not allow is an error.

    Without ``allow`` and ``prefix`` nothing from the process environment is offered.
    ``PODIUM_*`` variables never are. Dotenv values win over the process environment
    only for keys the environment lacks, like most dotenv loaders.
    """

    name: ClassVar[str] = "local-environment"
    resource_type: ClassVar[str] = "environment"
    params_model = EnvironmentParams
    # Outputs are the variables offered, whatever their names: none are declared.

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def _values(self, ctx: ResourceContext) -> Outputs:
        params = ctx.params
        file = params.get("file") or self.settings.dotenv
        values: dict[str, str] = {}
        if file:
            path = Path(str(file)).expanduser()
            if not path.is_file():
                raise ResourceError(
                    f"dotenv file {path} does not exist", hint="create it or fix the rule's file"
                )
            values.update(parse_dotenv(path))
        allowed = _allowed(ctx.uid, params)
        wanted = params.get("keys")
        selected: set[str] | None = None
        if wanted is not None:
            names = [str(k) for k in (wanted if isinstance(wanted, list) else [wanted])]
            refused = sorted(k for k in names if not allowed(k))
            if refused:
                raise ResourceError(
                    f"{ctx.uid}: params.keys asks for {', '.join(refused)}, which the "
                    "platform does not offer",
                    hint="the platform team lists offered variables in the rule's allow "
                    "or prefix params (PODIUM_* are never offered)",
                )
            selected = set(names)
        for key, value in os.environ.items():
            if allowed(key) and (selected is None or key in selected):
                values[key] = value
        values = {k: v for k, v in values.items() if not k.startswith(PODIUM_PREFIX)}
        return {k: Secret(v) if SECRET_NAME.search(k) else v for k, v in sorted(values.items())}

    def create(self, ctx: ResourceContext) -> Outputs:
        values = self._values(ctx)
        Reference(ctx).mark()
        return values

    def read(self, ctx: ResourceContext) -> Outputs | None:
        return self._values(ctx) if Reference(ctx).exists() else None

    def delete(self, ctx: ResourceContext) -> None:
        Reference(ctx).clear()


def _allowed(uid: str, params: Mapping[str, Any]) -> Callable[[str], bool]:
    """Which process environment variables the rule's ``allow`` and ``prefix`` offer."""
    allow = params.get("allow") or []
    prefix = params.get("prefix") or []
    names = {str(n) for n in (allow if isinstance(allow, list) else [allow])}
    prefixes = [str(p) for p in (prefix if isinstance(prefix, list) else [prefix])]
    if any(not p for p in prefixes):
        raise ResourceError(f"{uid}: an empty prefix would offer the whole environment")

    def allowed(key: str) -> bool:
        if key.startswith(PODIUM_PREFIX):
            return False
        return key in names or any(key.startswith(p) for p in prefixes)

    return allowed


_HOST_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


class DnsParams(LocalParams):
    name: str | None = Param(
        None,
        description="The host name before .localhost (DNS labels); default: one derived "
        "from the resource.",
    )


class DnsProvisioner(Provisioner):
    """A ``<name>.localhost`` host name: resolvers and browsers send ``*.localhost`` to loopback."""

    name: ClassVar[str] = "local-dns"
    resource_type: ClassVar[str] = "dns"
    params_model = DnsParams
    output_fields: ClassVar[dict[str, Output]] = {
        "host": Output("The host name, <name>.localhost."),
    }

    def _host(self, ctx: ResourceContext) -> str:
        wanted = ctx.params.get("name")
        if wanted is None:
            label = ctx.env.physical_name(ctx.uid, max_length=40)
            return f"{re.sub(r'[^a-z0-9-]+', '-', label.lower()).strip('-')}.localhost"
        # A name the developer asked for is used as written, or refused: silently
        # rewriting it would hand out a host nobody expects.
        name = str(wanted).lower()
        if not _HOST_NAME.fullmatch(name):
            raise ResourceError(
                f"{ctx.uid}: params.name {wanted!r} is not a host name",
                hint="use DNS labels: letters, digits and '-', joined by '.' (e.g. 'shop' or 'api.shop')",
            )
        return f"{name}.localhost"

    def create(self, ctx: ResourceContext) -> Outputs:
        Reference(ctx).mark()  # nothing else to create: ``*.localhost`` always resolves
        return {"host": self._host(ctx)}

    def read(self, ctx: ResourceContext) -> Outputs | None:
        return {"host": self._host(ctx)} if Reference(ctx).exists() else None

    def delete(self, ctx: ResourceContext) -> None:
        Reference(ctx).clear()


class ServicePortParams(LocalParams):
    workload: str = Param(description="The workload whose port this is.")
    port: str = Param(description="The port's name in that workload's service.ports.")


class ServicePortProvisioner(Provisioner):
    """Another workload's host and port, known before that workload is deployed.

    Params: ``workload`` and ``port`` (the port's name in that workload's Score
    ``service.ports``). The port is reserved in the environment's port registry,
    which the deployer reads when it starts that workload.
    """

    name: ClassVar[str] = "local-service-port"
    resource_type: ClassVar[str] = "service-port"
    params_model = ServicePortParams
    output_fields: ClassVar[dict[str, Output]] = {
        "host": Output("The host the workload listens on."),
        "hostname": Output("The same host."),
        "port": Output("The port reserved for it.", type=int),
    }

    def _target(self, ctx: ResourceContext) -> tuple[str, str]:
        workload, port = ctx.params.get("workload"), ctx.params.get("port")
        if not workload or port is None:
            raise ResourceError(
                f"{ctx.uid}: service-port needs params 'workload' and 'port' (the port's name)"
            )
        return str(workload), str(port)

    def create(self, ctx: ResourceContext) -> Outputs:
        workload, port_name = self._target(ctx)
        registry = PortRegistry.for_env(ctx.env)
        port = registry.lookup(workload, port_name) or registry.allocate(workload, port_name)
        Reference(ctx).mark()
        return {"host": HOST, "hostname": HOST, "port": port}

    def read(self, ctx: ResourceContext) -> Outputs | None:
        workload, port_name = self._target(ctx)
        port = PortRegistry.for_env(ctx.env).lookup(workload, port_name)
        if not port or not Reference(ctx).exists():
            return None
        return {"host": HOST, "hostname": HOST, "port": port}

    def delete(self, ctx: ResourceContext) -> None:
        # The port itself belongs to the target workload; its destroy releases it.
        Reference(ctx).clear()
