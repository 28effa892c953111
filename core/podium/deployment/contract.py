"""What a deployer is: the interface behind ``podium_deployers``, and the rendered workload it receives.

The semantics every deployer follows (the guide "Writing a deployer" has the long form):

Idempotence and the crash contract
    A deploy that a crash (or a kill) interrupted before its outcome was recorded is
    retried by the next ``podium up`` with **the same release number and the same
    rendered workload**; a deploy that raised is recorded as a ``failed`` release, and
    the next ``podium up`` deploys again under the next number. Either way there is no
    ``read`` for deployers: ``deploy`` itself must converge, finding and replacing (or
    adopting) whatever an earlier attempt started. Name what you start
    deterministically from the platform, environment and workload
    (:meth:`EnvironmentInfo.physical_name`, or a :class:`~podium.plugin.DeployerState`
    directory per workload, with pids and their start times) so a retry finds it;
    :attr:`DeployContext.previous_release` and :attr:`DeployContext.previous_outputs`
    say what the last successful deploy left running. Two deploys of the same workload
    leave one running instance, of the last release only; ``destroy`` of something
    not deployed succeeds.

``before`` conditions
    ``started``: the dependency's process is running (or the task was accepted);
    ``healthy``: it is running and its readiness probe passes (running, with no probe);
    ``complete``: it ran to the end and exited 0 — a job. A container others wait to
    ``complete`` is not restarted after it succeeded, and ``status`` reports it
    ``ready`` once it completed successfully (a finished job is not ``down``).

Errors and exit codes
    Raise :class:`~podium.errors.TransientError` for what is worth retrying (the
    engine retries with backoff); :class:`~podium.errors.ResourceError` for a
    permanent, explained failure (a workload this deployer cannot run, a start that
    failed), with a ``hint``. During ``podium up`` any deployer error fails its node:
    the command exits 6 (apply failed), the release is recorded ``failed`` and the
    next ``up`` deploys again. Outside apply, errors reach the caller as raised:
    ``podium status``/``logs`` exit 1 for a ``ResourceError``, 9 for a
    :class:`~podium.errors.NotFoundError` (reserve it for "no such thing": a container
    name ``logs`` does not know); any other exception is a plugin fault (exit 4).

Ports and URLs
    ``RenderedWorkload.ports`` are the Score service ports: ``port`` is what other
    workloads connect to, ``target_port`` what the container listens on. A process
    deployer chooses the real port itself (the same one on every redeploy), tells
    the process in its environment (podium-local: ``PORT`` for the first port and
    ``PORT_<NAME>`` for each) and maps probe ports to it; container and cluster
    deployers publish ``port`` and route it to ``target_port``. Return the reachable
    URLs in :attr:`DeploymentResult.urls` (``http://host:port``), and the same in
    ``outputs`` for other workloads to reference.

Placeholders
    The core expands ``${metadata.*}`` and ``${resources.*}`` with Score's rules
    (``$$`` is a literal ``$``, ``\\.`` a dot inside a key, non-string values as JSON)
    in variables, file contents (unless ``noExpand``) and volume sources before a
    deployer sees the workload. Score does not expand ``command`` and ``args``: their
    text reaches the process as written (``podium validate`` warns about ``${...}``
    there). A deployer never expands anything itself.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from podium.platform.context import EnvironmentInfo
from podium.security.secret import Secret

if TYPE_CHECKING:
    from podium.security.contract import Finding
    from podium.workload.model import Workload

#: A Secret inside a model: kept as is by ``model_dump()``, redacted in JSON.
SecretValue = Annotated[Secret, PlainSerializer(str, return_type=str, when_used="json")]

#: Score's ``before.<container>.ready``: what a container must reach before the one
#: naming it starts (``started``, ``healthy`` or ``complete``; see the module text).
ReadyCondition = Literal["started", "healthy", "complete"]
#: A workload's or container's health: ``ready``, ``partial`` (some containers ready, or
#: starting), ``down`` (deployed but not running) or ``absent`` (not deployed at all).
HealthState = Literal["ready", "partial", "down", "absent"]


class _Model(BaseModel):
    # defer_build: a model is built on first use, so `podium status` builds only the
    # status models, not RenderedWorkload and the release models.
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", defer_build=True)


class HttpProbe(_Model):
    """Score's ``httpGet`` probe: healthy when a GET answers with a 2xx or 3xx status."""

    port: int = Field(
        description="The container port to query (a Score ``targetPort``, or ``port``); a "
        "process deployer maps it to the port it really assigned."
    )
    path: str = Field(default="/", description="The request path, ``/`` by default.")
    host: str | None = Field(
        default=None,
        description="The host to query; ``None`` means the container itself (``127.0.0.1`` "
        "for a process deployer, the pod or task IP for the others).",
    )
    scheme: Literal["HTTP", "HTTPS"] = Field(default="HTTP", description="``HTTP`` or ``HTTPS``.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers, name to value."
    )


class Probe(_Model):
    """A readiness or liveness check: an HTTP GET, a command, or both."""

    http_get: HttpProbe | None = Field(default=None, description="An HTTP GET to make.")
    exec_command: list[str] | None = Field(
        default=None,
        description="A command (argv, no shell) run inside the container, with its "
        "environment and working directory; healthy when it exits 0.",
    )


class RenderedFile(_Model):
    """A Score ``files`` entry: a file to place at ``target`` inside the container.

    Exactly one of ``content`` and ``binary_content`` is set. ``content`` is a
    :class:`~podium.Secret` when it holds a secret: write it with mode 0600 and
    never into logs or outputs.
    """

    target: str = Field(description="The absolute path inside the container.")
    content: str | SecretValue | None = Field(
        default=None, description="The text, placeholders expanded (unless Score's ``noExpand``)."
    )
    binary_content: str | None = Field(
        default=None, description="The bytes, base64-encoded, never expanded."
    )
    mode: str | None = Field(
        default=None, description='Score\'s file mode as an octal string (``"0644"``), if given.'
    )


class RenderedVolume(_Model):
    """A Score ``volumes`` entry: a volume resource mounted at ``target``.

    ``source`` holds the outputs of the volume resource the Score ``source`` names.
    A volume provisioner returns at least ``source`` (what to mount: a host directory
    for local deployers, a volume name or claim for container and cluster deployers)
    and usually ``path`` (the same, for Score's ``${resources.x.path}``). When the Score
    ``source`` is not a resource reference, ``source`` is ``{"source": <expanded text>}``
    and a deployer must refuse it unless it knows what the text means.
    """

    target: str = Field(description="The absolute mount path inside the container.")
    source: dict[str, Any] = Field(
        description="The volume resource's outputs: ``source`` (what to mount) and "
        "usually ``path``; other keys are the provisioner's."
    )
    path: str | None = Field(
        default=None, description="Score's sub path inside the volume to mount, if given."
    )
    read_only: bool = Field(default=False, description="Mount it read-only.")


class RenderedContainer(_Model):
    """One container (locally: one process) with every placeholder resolved.

    Variables that contain any secret are :class:`~podium.Secret` as a whole.
    What the fields mean by kind of deployer: a *process* deployer runs ``command``
    + ``args`` and may ignore ``image`` (say so in :meth:`Deployer.check_workload`);
    a *container* deployer runs ``image``, with ``command`` replacing its entrypoint
    and ``args`` its arguments when given; a *cluster* deployer maps the container
    onto a pod or task container the same way.
    """

    name: str = Field(description="The container's name in the Score file.")
    image: str = Field(
        description="The image reference; ``.`` means an image built from the workload's "
        "directory, which only a deployer that builds images can run."
    )
    command: list[str] = Field(
        default_factory=list,
        description="The program and its fixed arguments (replaces an image's entrypoint); "
        "placeholders are not expanded here.",
    )
    args: list[str] = Field(
        default_factory=list, description="Arguments after ``command`` (an image's ``CMD``)."
    )
    variables: dict[str, str | SecretValue] = Field(
        default_factory=dict,
        description="The environment variables, expanded; a value holding a secret is a "
        "Secret: hand it to the process, never write it in clear or return it.",
    )
    files: list[RenderedFile] = Field(default_factory=list, description="Files to place.")
    volumes: list[RenderedVolume] = Field(default_factory=list, description="Volumes to mount.")
    limits: dict[str, str] = Field(
        default_factory=dict, description="Score ``resources.limits`` (``cpu``, ``memory``)."
    )
    requests: dict[str, str] = Field(
        default_factory=dict, description="Score ``resources.requests`` (``cpu``, ``memory``)."
    )
    readiness_probe: Probe | None = Field(
        default=None,
        description="When the container counts as ready (``healthy``); deploy waits for it.",
    )
    liveness_probe: Probe | None = Field(
        default=None,
        description="When the container must be restarted: repeated failures restart it.",
    )
    before: dict[str, ReadyCondition] = Field(
        default_factory=dict,
        description="Score's ``before``: containers that must reach a condition before "
        "this one starts (``started``, ``healthy`` or ``complete``).",
    )


class ServicePort(_Model):
    """A Score service port: what the workload offers to others."""

    port: int = Field(description="The port others connect to (Score ``port``).")
    target_port: int = Field(
        description="The port the container listens on (Score ``targetPort``, else ``port``)."
    )
    protocol: Literal["TCP", "UDP"] = Field(default="TCP", description="``TCP`` or ``UDP``.")


class RenderedResource(_Model):
    """A resource the workload requested, as provisioned: its identity and outputs."""

    uid: str = Field(
        description="The resource's identity, ``type.class#workload.name`` (or ``#id``)."
    )
    type: str = Field(description="The Score resource type (``postgres``, ``volume``...).")
    resource_class: str = Field(default="default", description="The Score resource class.")
    outputs: dict[str, Any] = Field(
        default_factory=dict,
        description="What its provisioner returned; secret outputs are Secrets.",
    )


class RenderedWorkload(_Model):
    """A Score workload after placeholder resolution, ready for a deployer."""

    name: str = Field(description="The workload's ``metadata.name``.")
    containers: dict[str, RenderedContainer] = Field(
        description="The containers by name, in the Score file's order."
    )
    ports: dict[str, ServicePort] = Field(
        default_factory=dict, description="Score ``service.ports`` by name, in file order."
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Score ``metadata.annotations``."
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels added by ``podium_enrich_deployment`` implementations "
        "(team, cost centre, ...): tag what the deployer creates with them.",
    )
    resources: dict[str, RenderedResource] = Field(
        default_factory=dict, description="The requested resources by their Score name."
    )
    extensions: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form additions from the core and enrichment hooks, read by "
        "deployers that know them (``podium.source_dir``: the Score file's directory).",
    )


class CancelSignal:
    """Whether the run a deployer call belongs to was cancelled (read only).

    Set by :meth:`Platform.cancel() <podium.Platform.cancel>`, ``close()`` or Ctrl-C.
    A deployer that waits (for readiness, a rollout) checks it between polls and stops
    at a safe point by raising :class:`~podium.errors.CancelledError` (or simply
    finishes): the deploy is then recorded as failed and the next ``podium up``
    deploys again.
    """

    __slots__ = ("_event",)

    def __init__(self, event: threading.Event | None = None) -> None:
        self._event = event if event is not None else threading.Event()

    def is_set(self) -> bool:
        """Whether the run was cancelled."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on a cancel; return :meth:`is_set`."""
        return self._event.wait(timeout)

    def __bool__(self) -> bool:
        return self.is_set()

    def __repr__(self) -> str:
        return f"CancelSignal(set={self.is_set()})"

    # A context copied (``dataclasses.replace``, ``copy.deepcopy``) shares the run's signal.
    def __copy__(self) -> CancelSignal:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> CancelSignal:
        return self


#: What :attr:`DeployContext.patch_manifests` is: runs ``podium_patch_manifests`` on a
#: workload's rendered objects, changing the list in place.
ManifestPatcher = Callable[["RenderedWorkload", list[dict[str, Any]]], None]


def _no_patches(workload: RenderedWorkload, objects: list[dict[str, Any]]) -> None:
    """The patcher of a context built outside the core (a test): no plugin patches."""


#: The logger a context gets when nobody binds one (a test building a context itself).
DEFAULT_DEPLOYER_LOGGER = "podium.deployers"


def deployer_logger(plugin: str, deployer: str) -> logging.Logger:
    """The stdlib logger the core binds to a deployer: ``podium.plugins.<plugin>.<deployer>``.

    A child of ``podium``, which has a NullHandler: a host that configures no logging
    sees nothing, one that does receives the records like any library's.
    """
    return logging.getLogger(f"podium.plugins.{plugin}.{deployer}")


@dataclass(frozen=True)
class DeployContext:
    """Where and what to deploy, and what the run knows about it.

    ``release`` increases by one for every recorded deploy of a workload; a deploy
    retried after a crash gets the same number again (see the module's crash
    contract). The keyword-only fields after it arrived with deployment contract v2;
    each has a default, so a context built as ``DeployContext("web", env, 2)`` (0.1
    style) still works, and deployers that ignore them keep working. They do not take
    part in equality or hashing.
    """

    #: The workload's name (Score ``metadata.name``).
    workload: str
    #: The platform and environment, with the private ``state_dir``.
    env: EnvironmentInfo
    #: The release being deployed (``deploy``, ``rollback``); ``1`` for other calls.
    release: int = 1
    #: The release recorded as running before this call (what a deploy replaces, what
    #: ``status``/``logs``/``destroy`` look at); ``None`` when none was recorded.
    previous_release: int | None = field(default=None, kw_only=True, compare=False)
    #: The outputs recorded for :attr:`previous_release` (what ``deploy`` returned
    #: then, with ``urls`` and ``release``): native ids a retry or ``destroy`` can use
    #: to find what was started. Secret outputs are not included.
    previous_outputs: Mapping[str, Any] = field(
        default_factory=dict, kw_only=True, compare=False, repr=False
    )
    #: A :func:`time.monotonic` instant by which the call should return (the engine's
    #: per-call ``timeout``), or ``None`` for no limit. See :meth:`time_left`.
    deadline: float | None = field(default=None, kw_only=True, compare=False)
    #: Set when the run is cancelled; see :class:`CancelSignal`.
    cancel: CancelSignal = field(
        default_factory=CancelSignal, kw_only=True, compare=False, repr=False
    )
    #: A stdlib logger bound to the deployer's plugin (``podium.plugins.<plugin>.<name>``).
    logger: logging.Logger = field(
        default_factory=lambda: logging.getLogger(DEFAULT_DEPLOYER_LOGGER),
        kw_only=True,
        compare=False,
        repr=False,
    )

    #: The team owning the workload (``[teams]``, ``podium.dev/owner``...), when known:
    #: label what you create with it. Plugin API 1.3; ``None`` before.
    owner: str | None = field(default=None, kw_only=True, compare=False)
    #: Runs every plugin's ``podium_patch_manifests`` on rendered objects (in place),
    #: with the workload's owner and environment; a :class:`Renderer` calls it from
    #: :meth:`Renderer.manifests`. Plugin API 1.3; a no-op when no plugin patches.
    patch_manifests: ManifestPatcher = field(
        default=_no_patches, kw_only=True, compare=False, repr=False
    )

    @property
    def cancelled(self) -> bool:
        """Whether the run was cancelled: stop waiting at the next safe point."""
        return self.cancel.is_set()

    def time_left(self, limit: float | None = None) -> float | None:
        """Seconds until :attr:`deadline` (at least 0), capped at ``limit``; ``None`` if neither."""
        left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        if limit is None:
            return left
        return limit if left is None else min(limit, left)

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` (less if the deadline comes first); ``False`` if cancelled meanwhile."""
        wait = self.time_left(seconds)
        return not self.cancel.wait(wait if wait is not None else seconds)


class DeploymentResult(_Model):
    """What a deploy produced: outputs (URLs, endpoints, native ids) and a message."""

    outputs: dict[str, Any] = Field(
        default_factory=dict,
        description="Recorded with the release and given back as ``previous_outputs``; other "
        "workloads may reference them. Never a secret value.",
    )
    urls: list[str] = Field(
        default_factory=list,
        description="Where the workload answers (``http://127.0.0.1:8080``), shown by "
        "``podium up`` and ``status``.",
    )
    message: str = Field(
        default="", description="One line for humans, shown after the release number."
    )


class ContainerStatus(_Model):
    """Health of one container of a deployed workload."""

    state: HealthState = Field(
        description="``ready``: running and its readiness probe passes (or it completed, "
        "for a job others wait to ``complete``); ``down``: not running or not ready; "
        "``absent``: not deployed."
    )
    message: str = Field(default="", description="Why it is not ready, or what it is doing.")
    restarts: int = Field(default=0, description="How many times it was restarted since deployed.")


class WorkloadStatus(_Model):
    """Health of one deployed workload, as ``podium status`` shows it.

    A refresh (``podium plan --refresh``, every ``podium up``) redeploys a recorded
    workload whose status says it needs it (:attr:`needs_redeploy`), with ``message``
    as the reason. Report what really runs (ask the runtime, not only your own
    files): after ``destroy`` the state is ``absent``; a deployed workload whose
    processes all died is ``down``, never ``absent``.
    """

    workload: str = Field(description="The workload's name.")
    state: HealthState = Field(
        description="``ready`` when every container is; ``partial`` when some are (or it "
        "is starting); ``down`` when none is; ``absent`` when not deployed."
    )
    message: str = Field(default="", description="A summary: the release, or what is wrong.")
    urls: list[str] = Field(default_factory=list, description="Where the workload answers.")
    containers: dict[str, ContainerStatus] = Field(
        default_factory=dict, description="Each container's health, by name."
    )
    template: str | None = Field(
        default=None,
        description="The workload template and version the deployed workload was generated "
        "from (``python-web 1.1.0``), from its ``podium.dev/template`` and "
        "``podium.dev/template-version`` annotations. Set by the core; deployers leave it unset.",
    )
    redeploy: bool | None = Field(
        default=None,
        description="Whether deploying again would bring the workload back: ``True`` when "
        "what runs it is gone (processes stopped, the runtime restarted), ``False`` when it "
        "is starting or its runtime is already restarting it. ``None``: ``down`` and "
        "``absent`` workloads are redeployed.",
    )
    signals: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Monitoring signals by plugin name (scraped, up, request and error "
        "rates...), filled by ``Platform.status`` from ``podium_workload_signals``; a "
        "deployer leaves it empty.",
    )
    checked_at: datetime | None = Field(
        default=None,
        description="When this health was observed (UTC), for health the deployer recorded "
        "earlier (:meth:`Deployer.recorded_status`); ``None``: checked just now.",
    )

    @property
    def needs_redeploy(self) -> bool:
        """Whether a refresh plans a redeploy: always when ``absent``, else per :attr:`redeploy`."""
        if self.state == "absent":
            return True
        return self.redeploy if self.redeploy is not None else self.state == "down"


@dataclass(frozen=True)
class LogLine:
    """One line a container wrote."""

    #: The container's name.
    container: str
    #: The line, without its newline; the workload's secrets masked where the deployer can.
    text: str
    #: When it was written, if the runtime says (``None`` otherwise).
    timestamp: datetime | None = None
    #: ``stdout`` or ``stderr``.
    stream: str = "stdout"


class Release(_Model):
    """One recorded deploy of a workload, kept by the core for rollback and history."""

    number: int = Field(description="The release number, from 1.")
    workload: RenderedWorkload = Field(description="Exactly what was deployed.")
    deployer: str = Field(description="The deployer's registration name.")
    outputs: dict[str, Any] = Field(
        default_factory=dict, description="What the deploy returned, with ``urls`` and ``release``."
    )
    created_at: datetime = Field(description="When the release was recorded (UTC).")
    status: str = Field(
        default="deployed", description="``deployed``, or ``failed`` for a deploy that raised."
    )
    note: str = Field(default="", description="The deploy's message, or its error.")
    run_id: str = Field(default="", description="The run that recorded this release.")


class Deployer(ABC):
    """Runs rendered workloads somewhere: local processes, containers, a cluster, ECS...

    Set ``name`` (what ``[environments.<env>] deployer = ...`` refers to). All
    operations are idempotent; ``destroy`` of something that is not deployed succeeds.
    Read the module's text for the crash contract, ``before``, errors, ports and
    placeholders.
    """

    #: The registration name environments refer to.
    name: ClassVar[str]
    #: At most this many of this deployer's calls run at once in one apply (``None``: the
    #: engine's parallelism).
    max_parallel: ClassVar[int | None] = None

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> Iterable[Finding]:
        """Say what this deployer cannot run, at ``validate`` and ``plan`` time.

        Called for every workload of an environment that uses this deployer, before
        anything changes. ``workload`` is the Score workload as written (placeholders
        not expanded); ``workload.location("containers", name, "command")`` gives the
        ``file:line`` to put in each :class:`~podium.security.contract.Finding`'s
        ``location``. Name findings ``<deployer>.<check>``; a ``mandatory`` finding
        blocks ``podium up`` (the plan is refused), ``podium validate`` exits 5. These
        findings are not policies: ``[policies]`` levels do not change them.
        Default: no findings (plugin API 1.1 deployers).
        """
        return ()

    @abstractmethod
    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        """Make ``workload`` run as described, replacing the previous release.

        Start containers in ``before`` order, wait for what ``before`` asks and for every
        readiness probe, and return only once the new release runs (raise otherwise):
        after it returns, exactly one instance of this release runs and nothing of an
        older one. Called again after a failure or a crash (then with the same release):
        converge.
        """

    @abstractmethod
    def status(self, ctx: DeployContext) -> WorkloadStatus:
        """Report health: ``ready``, ``partial``, ``down``, or ``absent`` when not deployed.

        Called by ``podium status``, and before every ``podium up`` (and ``plan
        --refresh``) for each recorded workload, which the core redeploys when it is
        ``down`` or ``absent``. A workload that runs but is not ready yet (starting,
        or restarted by its runtime) is ``partial``, or ``down`` with
        :attr:`WorkloadStatus.redeploy` set to ``False``.
        """

    def recorded_status(self, ctx: DeployContext) -> WorkloadStatus | None:
        """The last health a background check recorded, or ``None`` to have :meth:`status` asked.

        ``podium status`` (without ``--probe``) calls this first, so answering it must be
        cheap: read what a prober running next to the workload (in the supervised
        environment, never in the ``podium`` process) wrote, and set
        :attr:`WorkloadStatus.checked_at` to when it was observed. Return ``None`` when
        nothing trustworthy is recorded — no record yet, one older than a few probe
        periods (the prober may be dead), or one of another release — and the core
        asks :meth:`status` live. Readiness after ``podium up`` (exit 10), refreshes and
        ``podium status --probe`` always call :meth:`status`.
        Default: ``None`` (plugin API 1.2 deployers record nothing).
        """
        return None

    @abstractmethod
    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        """Yield log lines; with ``follow`` keep yielding until the caller stops iterating.

        ``container`` limits the lines to one container (raise
        :class:`~podium.errors.NotFoundError` or ``ResourceError`` naming the known ones
        for a container the workload does not have); ``tail`` yields only the last
        ``tail`` lines of each stream first. :func:`~podium.plugin.read_logs` does all
        of this for log files.
        """

    def rollback(self, ctx: DeployContext, release: Release) -> DeploymentResult:
        """Return to an earlier release. Default: deploy that release's workload again.

        ``ctx.release`` is the new release number the rollback is recorded as;
        ``release`` is the one to return to. Afterwards only that release's workload runs.
        """
        return self.deploy(ctx, release.workload)

    @abstractmethod
    def destroy(self, ctx: DeployContext) -> None:
        """Stop and remove everything this deployer runs for ``ctx.workload``.

        Stop processes TERM first, then KILL after a timeout
        (:func:`~podium.plugin.stop_process_group`); afterwards ``status`` is ``absent``.
        Destroying what is not deployed (or was destroyed already) succeeds.
        """


class Renderer(ABC):
    """A deployer that can write what it runs as manifests (plugin API 1.3, optional).

    Mix it into a :class:`Deployer` (``class KubeDeployer(Renderer, Deployer)``) to
    support ``podium render`` and ``podium_patch_manifests``: :meth:`render` turns a
    workload into plain objects (Kubernetes objects, a compose file...),
    :meth:`manifests` adds every plugin's patches and checks the result again with
    :meth:`check_manifests`. A deployer that runs manifests (``kubectl apply``,
    ``podman kube play``) should deploy exactly what :meth:`manifests` returns, so
    what ``podium render`` shows is what runs.

    Rendered objects never hold secret values: refer to them (a secret store
    reference, an ``ExternalSecret``) or leave them out and say so.
    """

    #: The suffix of the file ``podium render`` writes per workload.
    manifest_suffix: ClassVar[str] = ".yaml"

    @abstractmethod
    def render(self, ctx: DeployContext, workload: RenderedWorkload) -> list[dict[str, Any]]:
        """The objects that run ``workload``, in a stable order; no side effects."""

    def check_manifests(  # noqa: B027 - optional to override, so not abstract
        self, ctx: DeployContext, workload: RenderedWorkload, objects: list[dict[str, Any]]
    ) -> None:
        """Refuse objects this deployer cannot run (raise :class:`~podium.errors.ResourceError`).

        Called after patches, so a patch cannot produce what the schema forbids.
        Default: no check.
        """

    def manifest_text(self, objects: list[dict[str, Any]]) -> str:
        """One workload's objects as a file: YAML documents, keys in the objects' order."""
        import yaml

        return "".join(
            "---\n" + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)
            for obj in objects
        )

    def manifests(self, ctx: DeployContext, workload: RenderedWorkload) -> list[dict[str, Any]]:
        """:meth:`render`, then ``podium_patch_manifests``, then :meth:`check_manifests`."""
        objects = self.render(ctx, workload)
        ctx.patch_manifests(workload, objects)
        self.check_manifests(ctx, workload, objects)
        return objects
