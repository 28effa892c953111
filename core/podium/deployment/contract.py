"""What a deployer is: the interface behind ``podium_deployers``, and the rendered workload it receives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from podium.platform.context import EnvironmentInfo
from podium.security.secret import Secret

#: A Secret inside a model: kept as is by ``model_dump()``, redacted in JSON.
SecretValue = Annotated[Secret, PlainSerializer(str, return_type=str, when_used="json")]

ReadyCondition = Literal["started", "healthy", "complete"]
HealthState = Literal["ready", "partial", "down", "absent"]


class _Model(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")


class HttpProbe(_Model):
    port: int
    path: str = "/"
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    headers: dict[str, str] = Field(default_factory=dict)


class Probe(_Model):
    """A readiness or liveness check: an HTTP GET, a command, or both."""

    http_get: HttpProbe | None = None
    exec_command: list[str] | None = None


class RenderedFile(_Model):
    target: str
    content: str | SecretValue | None = None
    binary_content: str | None = None  #: base64, never expanded
    mode: str | None = None


class RenderedVolume(_Model):
    target: str
    #: The outputs of the volume resource the Score ``source`` names (``source``/``path`` keys).
    source: dict[str, Any]
    path: str | None = None
    read_only: bool = False


class RenderedContainer(_Model):
    """One container (locally: one process) with every placeholder resolved.

    Variables that contain any secret are :class:`~podium.Secret` as a whole.
    """

    name: str
    image: str
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    variables: dict[str, str | SecretValue] = Field(default_factory=dict)
    files: list[RenderedFile] = Field(default_factory=list)
    volumes: list[RenderedVolume] = Field(default_factory=list)
    limits: dict[str, str] = Field(default_factory=dict)
    requests: dict[str, str] = Field(default_factory=dict)
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    #: Score's ``before``: containers that must reach a condition before this one starts.
    before: dict[str, ReadyCondition] = Field(default_factory=dict)


class ServicePort(_Model):
    port: int
    target_port: int
    protocol: Literal["TCP", "UDP"] = "TCP"


class RenderedResource(_Model):
    uid: str
    type: str
    resource_class: str = "default"
    outputs: dict[str, Any] = Field(default_factory=dict)


class RenderedWorkload(_Model):
    """A Score workload after placeholder resolution, ready for a deployer."""

    name: str
    containers: dict[str, RenderedContainer]
    ports: dict[str, ServicePort] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    #: Labels added by ``podium_enrich_deployment`` implementations (team, cost centre, ...).
    labels: dict[str, str] = Field(default_factory=dict)
    resources: dict[str, RenderedResource] = Field(default_factory=dict)
    #: Free-form additions from enrichment hooks, read by deployers that know them.
    extensions: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class DeployContext:
    """Where and what to deploy. ``release`` increases by one for every deploy of a workload."""

    workload: str
    env: EnvironmentInfo
    release: int = 1


class DeploymentResult(_Model):
    """What a deploy produced: outputs (URLs, endpoints, native ids) and a message."""

    outputs: dict[str, Any] = Field(default_factory=dict)
    urls: list[str] = Field(default_factory=list)
    message: str = ""


class ContainerStatus(_Model):
    state: HealthState
    message: str = ""
    restarts: int = 0


class WorkloadStatus(_Model):
    """Health of one deployed workload, as ``podium status`` shows it."""

    workload: str
    state: HealthState
    message: str = ""
    urls: list[str] = Field(default_factory=list)
    containers: dict[str, ContainerStatus] = Field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    container: str
    text: str
    timestamp: datetime | None = None
    stream: str = "stdout"


class Release(_Model):
    """One recorded deploy of a workload, kept by the core for rollback and history."""

    number: int
    workload: RenderedWorkload
    deployer: str
    outputs: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    status: str = "deployed"
    note: str = ""
    run_id: str = Field("", description="The run that recorded this release.")


class Deployer(ABC):
    """Runs rendered workloads somewhere: local processes, containers, a cluster, ECS...

    Set ``name`` (what ``[environments.<env>] deployer = ...`` refers to). All
    operations are idempotent; ``destroy`` of something that is not deployed succeeds.
    """

    name: ClassVar[str]
    max_parallel: ClassVar[int | None] = None

    @abstractmethod
    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        """Make ``workload`` run as described, replacing the previous release."""

    @abstractmethod
    def status(self, ctx: DeployContext) -> WorkloadStatus:
        """Report health: ``ready``, ``partial``, ``down``, or ``absent`` when not deployed."""

    @abstractmethod
    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        """Yield log lines; with ``follow`` keep yielding until the caller stops iterating."""

    def rollback(self, ctx: DeployContext, release: Release) -> DeploymentResult:
        """Return to an earlier release. Default: deploy that release's workload again."""
        return self.deploy(ctx, release.workload)

    @abstractmethod
    def destroy(self, ctx: DeployContext) -> None:
        """Stop and remove everything this deployer runs for ``ctx.workload``."""
