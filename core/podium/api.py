"""The embeddable Python API: :class:`Platform`.

The CLI is a thin shell over this module. A ``Platform`` holds no global state:
several can live in one process (each with its own plugins, state and tracer),
and every method is safe to call from several threads; runs that change one
environment are serialised by the state lock, across threads and processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from podium.config.models import PlatformConfig, default_tier
from podium.engine.audit import (
    audited,
    destroy_target,
    files_target,
    plan_call_target,
    plan_target,
)
from podium.errors import (
    InputError,
    NotFoundError,
    PolicyBlockedError,
    StateError,
)
from podium.observability.contract import Event
from podium.platform.context import EnvironmentInfo
from podium.plugins.kinds import (
    DEPLOYERS,
    POLICY_PACKS,
    PROVISIONERS,
    SECRET_STORES,
    STATE_BACKENDS,
)
from podium.security.secret import Secret, redact

if TYPE_CHECKING:
    from podium.deployment.contract import LogLine, WorkloadStatus
    from podium.engine.apply import ApplyResult
    from podium.engine.manifests import WorkloadManifests
    from podium.engine.plan import Plan
    from podium.engine.records import PendingIntent
    from podium.engine.runtime import EngineRuntime
    from podium.engine.session import EngineSession
    from podium.platform.contract import ResourceRecord, StateStore
    from podium.plugins.manager import PluginManager
    from podium.security.contract import Finding, SecretStore, SecretVersion
    from podium.security.crypto import StateCipher
    from podium.security.key_slot import KeySlot
    from podium.security.rekey import RekeyResult
    from podium.workload.model import Workload

WorkloadInput = str | Path | Any  # a path, or a loaded Workload
#: the identity :meth:`Platform.acting_as` set for the calls of this context
_ACTING_AS: ContextVar[str | None] = ContextVar("podium_acting_as", default=None)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _operation(
    method: Callable[Concatenate[Platform, _P], _R],
) -> Callable[Concatenate[Platform, _P], _R]:
    """Run ``method`` as one of the platform's operations: ``cancel()`` reaches it, ``close()``
    waits for it, and once the platform is closed it raises :class:`~podium.errors.ClosedError`."""

    @wraps(method)
    def run(self: Platform, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._runs.run():
            return method(self, *args, **kwargs)

    return run


@dataclass(frozen=True)
class Subscription:
    """Returned by :meth:`Platform.subscribe`; call :meth:`cancel` to stop receiving events."""

    platform: Platform
    callback: Callable[[Event], None]

    def cancel(self) -> None:
        self.platform._unsubscribe(self.callback)


class Platform:
    """One platform: its config, plugins, state per environment and secrets.

    Build it from a file (``Platform.from_file("podium.toml")``), a dict or
    :class:`~podium.config.models.PlatformConfig`, and register in-process plugins
    with ``plugins=[module_or_object, ("name", obj)]`` (no installation needed).
    ``metric_readers``: OpenTelemetry metric readers that receive this platform's own
    metrics (see :mod:`podium.observability.metrics`), besides OTLP when configured.
    """

    def __init__(
        self,
        config: PlatformConfig | Mapping[str, Any] | None = None,
        *,
        root: Path | str | None = None,
        config_path: Path | str | None = None,
        plugins: Sequence[object | tuple[str, object]] = (),
        load_entrypoints: bool = True,
        strict_plugins: bool | None = None,
        on_event: Callable[[Event], None] | None = None,
        locate: Any = None,
        environ: Mapping[str, str] | None = None,
        pause_gc: bool = False,
        metric_readers: Sequence[Any] = (),
    ) -> None:
        if config is None:
            config = PlatformConfig()
        elif not isinstance(config, PlatformConfig):
            from podium.config.loader import load_config_dict

            config = load_config_dict(dict(config))
        self.config: PlatformConfig = config
        self.config_path = Path(config_path).resolve() if config_path else None
        base = (
            Path(root)
            if root is not None
            else (self.config_path.parent if self.config_path else Path.cwd())
        )
        self.root = base.resolve()
        state_dir = Path(config.platform.state_dir).expanduser()
        self.state_root = state_dir if state_dir.is_absolute() else self.root / state_dir
        from podium.config.state_dir import check_state_dir

        check_state_dir(self.state_root, locate)
        self.name = config.platform.name
        #: the operator environment this platform reads (every PODIUM_* and OTEL_* variable
        #: the core reads comes from here, never from the process); default os.environ
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        #: switch the cyclic garbage collector off while planning (process-wide, so only
        #: when the embedder owns the process and asks: the ``podium`` CLI does)
        self.pause_gc = pause_gc
        self._actor: str | None = None
        self._lock = threading.RLock()
        self._stores: dict[str, StateStore] = {}
        self._cipher: StateCipher | None = None
        self._key_checked: set[str] = set()  # environments whose key check passed
        self._tracer_provider: Any = None
        self._tracer_built = False
        self._engine_tracer: Any = None
        self._closed = False
        from podium.engine.runs import ActiveRuns

        #: the operations running now: what cancel() stops and close() waits for
        self._runs = ActiveRuns(self.name)
        #: plans this platform made, by id: applied without being recomputed (weak, so a
        #: dropped plan's id cannot be mistaken for a later object's)
        self._own_plans: weakref.WeakValueDictionary[int, Plan] = weakref.WeakValueDictionary()
        from podium.builtin import BuiltinPlugin
        from podium.platform.context import PlatformInfo
        from podium.plugins.manager import PluginManager

        lock_path = (self.config_path.parent if self.config_path else self.root) / "podium.lock"
        self.plugins: PluginManager = PluginManager(
            config.plugins,
            load_entrypoints=load_entrypoints,
            plugins=plugins,
            builtins=[("builtin", BuiltinPlugin(self.state_root, self._load_key))],
            strict=strict_plugins,
            lock_path=lock_path,
            locate=locate,
            platform_name=self.name,
            platform_info=PlatformInfo(self.name, self.root, self.state_root, self.config_path),
            tracer_provider=self.tracer_provider,
            environ=self.environ,
        )
        self._locate = locate
        from podium.observability.channel import EventChannel

        #: subscribers, plugins' podium_event and sinks: one isolated path (see EventChannel)
        self._events = EventChannel(self.plugins, config.telemetry.sinks)
        if on_event is not None:
            self._events.subscribe(on_event)
        #: this platform's own OpenTelemetry MeterProvider (never the global one), or ``None``
        self.meter_provider: Any = self._metrics(metric_readers)
        self.plugins.load()
        self.plugins.broadcast("podium_platform_started", platform=self)

    @classmethod
    def from_file(cls, path: Path | str, **kwargs: Any) -> Platform:
        """Load ``podium.toml``; errors point at the file and line."""
        from podium.config.loader import load_config_file

        config, locate = load_config_file(Path(path))
        return cls(config, config_path=path, locate=locate, **kwargs)

    # ------------------------------------------------------------------ basics
    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Platform({self.name!r}, root={str(self.root)!r})"

    def cipher(self, env: str | None = None) -> StateCipher:
        """The key that seals secrets in state (``$PODIUM_STATE_KEY`` or the key file).

        With ``env``, the key is first proven to be the one that environment's
        state is sealed with (its key check; see :mod:`podium.security.key_check`).
        """
        if env is None:
            return self._load_key(True)
        with self._lock:
            if env not in self._key_checked:
                from podium.security.key_check import bind_store_key

                bind_store_key(self.store(env), f"{self.name}/{env}", self._load_key)
                self._key_checked.add(env)
            return self._load_key(False)

    def _load_key(self, create: bool) -> StateCipher:
        # ``create``: a missing key file may be made, which is only right while no
        # state this platform has opened holds anything sealed with an old key.
        with self._lock:
            if self._cipher is None:
                from podium.security.crypto import KeyFileMissingError

                slot = self.key_slot()
                try:
                    self._cipher = slot.load(create=False, environ=self.environ)
                except KeyFileMissingError:
                    if not create or self._open_state_holds_data():
                        raise
                    self._cipher = slot.load(create=True, environ=self.environ)
            return self._cipher

    def key_slot(self) -> KeySlot:
        """Where the state key is kept: ``[secrets] key_file``, wrapped by ``key_provider``."""
        from podium.security.key_slot import WRAPPED_KEY_FILE_NAME, KeySlot, KeyWrapping

        secrets = self.config.secrets
        wrapping: KeyWrapping | None = None
        if secrets.key_provider is not None and secrets.wrapping_key is not None:
            from podium.plugins.kinds import KEY_PROVIDERS

            found = self.plugins.registered(KEY_PROVIDERS, secrets.key_provider)
            wrapping = KeyWrapping(found.obj, found.plugin.name, secrets.wrapping_key)
        default = WRAPPED_KEY_FILE_NAME if wrapping is not None else "key"
        path = Path(secrets.key_file) if secrets.key_file else self.state_root / default
        if not path.is_absolute():
            path = self.root / path
        return KeySlot(path, wrapping)

    def _open_state_holds_data(self) -> bool:
        from podium.security.key_check import holds_data
        from podium.security.local_store import LocalSecretStore

        secrets = self._secret_store_or_none()
        if isinstance(secrets, LocalSecretStore) and secrets.holds_data():
            return True
        return any(holds_data(store) for store in self._stores.values())

    @property
    def actor(self) -> str:
        """Who runs this platform's commands, for history and the lock (:func:`podium.identity.actor`)."""
        acting = _ACTING_AS.get()
        if acting is not None:
            return acting
        with self._lock:
            if self._actor is None:
                from podium.identity import actor

                self._actor = actor(self.environ, self.root)
            return self._actor

    @contextmanager
    def acting_as(self, actor: str) -> Iterator[None]:
        """Run this context's calls (history, the lease) as ``actor``: a server passes each
        request's authenticated identity (threads the calls start inherit nothing)."""
        token = _ACTING_AS.set(actor)
        try:
            yield
        finally:
            _ACTING_AS.reset(token)

    @property
    def tracer_provider(self) -> Any:
        """This platform's OpenTelemetry tracer provider, or ``None`` when no exporter is set."""
        with self._lock:
            if not self._tracer_built:
                self._tracer_built = True
                telemetry = self.config.telemetry
                otlp = telemetry.otlp
                if otlp is None:
                    otlp = bool(self.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")) or bool(
                        self.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                    )
                if telemetry.jsonl or telemetry.console or otlp:
                    from podium.observability.telemetry import make_tracer_provider

                    self._tracer_provider = make_tracer_provider(
                        telemetry.service_name,
                        jsonl_path=self.state_root / "spans.jsonl" if telemetry.jsonl else None,
                        console=telemetry.console,
                        otlp=otlp,
                        environ=self.environ,
                        # Spans never create the state root: validate of a new project writes nothing.
                        create_jsonl_dir=False,
                    )
            return self._tracer_provider

    def _metrics(self, readers: Sequence[Any]) -> Any:
        """The MeterProvider when OTLP is configured or readers are given; wired to the
        plugin calls and this platform's events."""
        otlp = self.config.telemetry.otlp
        if otlp is None and not readers:
            from podium.observability.otel_environ import METRIC_ENDPOINT_VARIABLES

            if not any(self.environ.get(name) for name in METRIC_ENDPOINT_VARIABLES):
                return None  # the SDK's metrics modules are not even imported
        from podium.observability.metrics import PodiumMetrics, make_meter_provider

        provider = make_meter_provider(
            self.config.telemetry.service_name, otlp=otlp, readers=readers, environ=self.environ
        )
        if provider is not None:
            metrics = PodiumMetrics(provider, self.name)
            self.plugins.call_observer = metrics.on_call
            self._events.subscribe(metrics.on_event)
        return provider

    def _tracer(self) -> Any:
        provider = self.tracer_provider
        if provider is None:
            return None
        with self._lock:
            if self._engine_tracer is None:
                from podium.observability.tracers import get_tracer
                from podium.version import __version__

                self._engine_tracer = get_tracer(provider, "podium.engine", __version__)
            return self._engine_tracer

    @property
    def environments(self) -> list[str]:
        return sorted(self.config.environments)

    def environment(self, name: str) -> EnvironmentInfo:
        """The :class:`EnvironmentInfo` plugins see for environment ``name``."""
        section = self.config.environments.get(name)
        if section is None:
            raise NotFoundError(
                f"no environment {name!r} in the platform config",
                hint="environments: "
                + (", ".join(self.environments) or "none")
                + " (add one under [environments.<name>])",
            )
        from podium.engine.data_loss import protects_data

        return EnvironmentInfo(
            platform=self.name,
            environment=name,
            state_dir=self.state_root / name,
            settings=dict(section.settings),
            tier=section.tier or default_tier(name),
            protect_data=protects_data(section, section.tier or default_tier(name)),
            secret_store=self._secret_store_or_none(name),
            config_path=self.config_path,
        )

    def _secret_store_or_none(self, env: str | None = None) -> SecretStore | None:
        """The selected store; with ``env``, as that environment sees it (its own values
        override platform-wide ones)."""
        store = self.plugins.registrations(SECRET_STORES).get(self.config.secrets.store)
        if store is None or env is None:
            return store.obj if store is not None else None
        from podium.security.env_secrets import EnvironmentSecrets

        return EnvironmentSecrets(store.obj, env)

    def store(self, env: str) -> StateStore:
        """The state store of environment ``env`` (opened once, shared by threads)."""
        with self._lock:
            if self._closed:
                raise self._runs.closed_error()
            store = self._stores.get(env)
            if store is None:
                info = self.environment(env)
                from podium.security.private_files import make_private_dir

                make_private_dir(info.state_dir)  # the state root too: 0700 whatever runs first
                backend = self.plugins.registered(STATE_BACKENDS, self.config.state.backend)
                store = self.plugins.call_instrumented(
                    backend.plugin,
                    f"{backend.name}.open",
                    backend.obj.open,
                    info,
                    dict(self.config.state.options),
                )
                self._stores[env] = store
            return store

    # ------------------------------------------------------------------ events
    def subscribe(self, callback: Callable[[Event], None]) -> Subscription:
        """Receive every :class:`~podium.observability.Event` of this platform (any thread).

        A callback that raises is logged (logger ``podium.events``, with the traceback)
        and never fails or stops the run; the other receivers still get the event.
        """
        self._events.subscribe(callback)
        return Subscription(self, callback)

    def _unsubscribe(self, callback: Callable[[Event], None]) -> None:
        self._events.unsubscribe(callback)

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to subscribers, plugins' ``podium_event`` and the selected sinks."""
        self._events.emit(event)

    # --------------------------------------------------------------- workloads
    def load_workloads(self, files: Iterable[WorkloadInput]) -> list[Workload]:
        """Load and validate Score files (or pass through loaded workloads).

        ``files`` is a list: a bare string or path raises :class:`~podium.errors.InputError`
        (it would otherwise be read as one file per character). Score text your program
        holds is loaded with :func:`podium.workload.load_workload_text` and passed as a
        :class:`~podium.workload.Workload`.
        """
        return self._load(files)[0]

    def _load(
        self, files: Iterable[WorkloadInput]
    ) -> tuple[list[Workload], dict[tuple[str, str], Workload]]:
        """:meth:`load_workloads`, and those of the workloads it parsed from files itself
        by ``(source, path)``: a plan keeps them, so that applying it does not parse the
        same sources again (parsing dominates the engine's own time on large graphs)."""
        from podium.workload.loader import load_workloads
        from podium.workload.model import Workload

        if isinstance(files, str | bytes | os.PathLike | Workload):
            raise InputError(
                f"files must be a list of Score files or workloads, not one "
                f"{type(files).__name__} ({str(files)[:80]!r})",
                field="files",
                hint="pass a list: plan(env, [path]); for Score text, "
                "plan(env, [podium.workload.load_workload_text(text)])",
            )
        given = list(files)
        loaded = [w for w in given if isinstance(w, Workload)]
        paths = [Path(p) for p in given if not isinstance(p, Workload)]
        parsed: dict[tuple[str, str], Workload] = {}
        if paths:
            from_files = load_workloads(paths, private_paths=self._private_paths())
            parsed = {
                (w.source, self._plan_path(w.path)): w for w in from_files if w.path is not None
            }
            loaded.extend(from_files)
        return loaded, parsed

    def _private_paths(self) -> list[Path]:
        """Host paths no workload may read, even from inside its own directory."""
        key_file = self.config.secrets.key_file
        paths = [self.state_root]
        if key_file:
            path = Path(key_file).expanduser()
            paths.append(path if path.is_absolute() else self.root / path)
        return paths

    def runtime(
        self, env: str, workloads: Sequence[Workload] = (), *, state: bool = True
    ) -> EngineRuntime:
        """What the engine needs for ``env``; ``state=False`` opens no state and loads no key."""
        from podium.engine.runtime import EngineRuntime, state_not_opened

        if self._closed:
            raise self._runs.closed_error()

        return EngineRuntime(
            platform=self.name,
            env=self.environment(env),
            env_config=self.config.environments[env],
            rules=list(self.config.rules),
            store=self.store(env) if state else state_not_opened("the state store"),
            plugins=self.plugins,
            cipher_source=(
                (lambda: self.cipher(env)) if state else (lambda: state_not_opened("the state key"))
            ),
            engine=self.config.engine,
            emit=self.emit,
            lock_ttl=self.config.state.lock_ttl,
            tracer=self._tracer(),
            workloads={w.name: w for w in workloads},
            locate=self._locate,
        )

    def config_digest(self) -> str:
        # Who may apply ([access], [serve]) does not change what a plan does.
        data = self.config.model_dump(mode="json", exclude={"access", "serve"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    # ------------------------------------------------------------- plan/apply
    def validate(self, env: str, files: Iterable[WorkloadInput]) -> list[Finding]:
        """Load workloads and run workload policies; raise on invalid input."""
        self.plugins.require_loaded("validate")  # a missing policy plugin is no pass
        self._check_policy_names()
        workloads = self.load_workloads(files)
        from podium.engine.ownership import workload_owners

        workload_owners(workloads, self.root, self.config.teams, required=False)
        rt = self.runtime(env, workloads, state=False)  # validate writes nothing, reads no key
        from podium.engine.desired import desired_nodes

        desired_nodes(rt, workloads)
        from podium.engine.deployer_checks import deployer_findings

        # The levels plan applies: validate must not block (or pass) what plan would not;
        # what a deployer cannot run is the deployer's to say (no levels).
        return self._apply_levels(self._workload_findings(rt, workloads), env) + (
            deployer_findings(rt, workloads)
        )

    @_operation
    @audited("plan", plan_call_target, only_inside=True)
    def plan(
        self,
        env: str,
        files: Iterable[WorkloadInput] = (),
        *,
        refresh: bool = False,
        destroy: bool = False,
        prune: bool = False,
        workloads: Sequence[str] | None = None,
        refresh_deployments: bool | None = None,
        owner: str | None = None,
        take_over: Sequence[str] = (),
        lock_timeout: float = 0.0,
        allow_data_loss: bool = False,
    ) -> Plan:
        """Compute what apply would change in ``env`` for these workloads.

        Only the given workloads are planned: records of other workloads in the
        environment are left alone, unless ``prune`` (delete everything of these
        files' owners not in these files). ``destroy`` removes the given workloads,
        or with no files and no ``workloads`` names, everything in the environment.

        Without a refresh the plan trusts state and calls no plugin. ``refresh``
        asks provisioners whether recorded resources exist and deployers whether
        recorded workloads run; ``refresh_deployments`` (default: ``refresh``) asks
        deployers only, and then provisioners only about the resources of a
        workload found down (:meth:`up` does this every time).

        A workload is owned as ``[teams]`` maps its Score file (else by the file's
        directory); ``owner`` names the owner of workloads without a file, and of
        a destroy by ``workloads`` names (trusted input: never take it from a
        Score file). A plan that touches what another owner holds raises
        :class:`~podium.errors.OwnershipError` unless ``take_over`` names it.

        Planning never takes the state lock. While another run holds it, the changes
        that run has in flight are reported in ``warnings`` (the plan shows state from
        before they finish, and is stale once they are recorded); ``lock_timeout``
        seconds > 0 waits first for that run to finish (:class:`~podium.errors.LockedError`
        if it has not by then).

        A delete or replace of a resource that holds data is labelled ``data_loss``; in a
        protected environment it is a mandatory ``podium.data-loss`` finding unless
        ``allow_data_loss`` (see :mod:`podium.engine.data_loss`).
        """
        self.plugins.require_loaded("plan")  # fail closed: no plan without every policy
        self._check_policy_names()
        from podium.engine import ownership
        from podium.engine.desired import desired_nodes
        from podium.engine.gc_pause import gc_paused
        from podium.engine.plan import Plan, diff

        # One pause from loading the files to the end of the plan: loading allocates as
        # much as planning, and a collection in between would walk every loaded workload.
        with gc_paused(self.pause_gc):
            loaded, parsed = self._load(files)
            owners = ownership.workload_owners(loaded, self.root, self.config.teams, owner)
            acting = ownership.acting_owners(owners, owner)
            names = {w.name for w in loaded} | set(workloads or ())
            scope = None if prune or (destroy and not names) else frozenset(names)
            workloads_in_plan = [] if destroy else loaded
            rt = self.runtime(env, workloads_in_plan)
            with self._span("podium.plan", env):
                rt.event("plan.started", message=f"planning {env}")
                session = self._session(rt)
                if lock_timeout > 0:
                    session.wait_until_unlocked(lock_timeout)
                warnings = session.reconcile_if_needed()
                nodes = [] if destroy else desired_nodes(rt, workloads_in_plan)
                # The serial before the records: a run recording changes in between then
                # makes this plan stale, instead of stamping old records with a new serial.
                from podium.engine.secret_versions import stamp_secret_versions

                if any(rule.type == "secret" for rule in rt.rules):  # else no node is one
                    stamp_secret_versions(
                        nodes, rt.env.secret_store, lambda value: rt.cipher.fingerprint(value)
                    )
                serial = rt.store.serial()
                records = rt.store.records()
                by_uid = {record.uid: record for record in records}  # once: each walk costs
                from podium.engine.refresh import ResourceDrift, read_resources

                drift = ResourceDrift()
                if refresh:
                    planned = frozenset(n.uid for n in nodes if n.kind == "resource")
                    drift = read_resources(rt, records, planned)
                down: dict[str, str] = {}
                if refresh if refresh_deployments is None else refresh_deployments:
                    from podium.engine.refresh import down_deployments, resources_of

                    down = down_deployments(rt, nodes, records)
                    if down and not refresh:
                        # A workload that went down (after a reboot, say) may have lost its
                        # resources' servers too: reading them finds (and restarts) them.
                        drift = read_resources(rt, records, only=resources_of(nodes, down))
                if prune:
                    scope, notes = ownership.prune_scope(records, names, acting)
                    warnings = [*warnings, *notes]

                def requires_replace(node: Any, record: ResourceRecord) -> bool:
                    provisioner = self.plugins.registered(PROVISIONERS, node.provider).obj
                    old = {
                        **(record.spec.get("rule_params") or {}),
                        **(record.spec.get("params") or {}),
                    }
                    new = {
                        **(node.spec.get("rule_params") or {}),
                        **(node.spec.get("params") or {}),
                    }
                    return bool(provisioner.requires_replace(old, new))

                unread_notes: list[str] = []

                def unread(node: Any, record: ResourceRecord, keys: list[str]) -> list[str] | None:
                    from podium.engine.param_changes import unread_note, unread_params
                    from podium.provisioning.schema import resource_schema

                    schema = resource_schema(
                        self.plugins.registered(PROVISIONERS, node.provider).obj
                    )
                    names = unread_params(schema, record.spec, node.spec, keys)
                    if names:
                        unread_notes.append(
                            unread_note(node.uid, node.provider, schema.resource_type, names)
                        )
                    return names

                changes = diff(
                    nodes,
                    by_uid,
                    requires_replace=requires_replace,
                    unread=unread,
                    destroy=destroy,
                    missing=drift.missing,
                    scope=scope,
                    down=down,
                    drifted=drift.changed,
                )
                from podium.engine import data_loss

                data_loss.label_changes(changes, self._holds_data)
                owned = ownership.check_changes(
                    changes,
                    by_uid,
                    loaded,
                    owners,
                    acting,
                    take_over=take_over,
                    rules=self.config.rules,
                    environment=env,
                    legacy=ownership.legacy_sources(
                        rt.store, records, self.root, self.config.teams
                    ),
                )
                from podium.engine.attribute_diff import describe_changes
                from podium.engine.staleness import PlanFingerprints, uses_fingerprints

                describe_changes(changes, workloads_in_plan, rt.store.releases, by_uid)
                plan = Plan(
                    platform=self.name,
                    environment=env,
                    serial=serial,
                    changes=changes,
                    workloads=[
                        {"name": w.name, "path": self._plan_path(w.path), "source": w.source}
                        for w in workloads_in_plan
                    ],
                    destroy=destroy,
                    refresh=refresh,
                    prune=prune,
                    scope=None if scope is None else sorted(scope),
                    config_digest=self.config_digest(),
                    warnings=[*warnings, *owned.notes, *unread_notes],
                    take_over=owned.taken_over,
                    allow_data_loss=allow_data_loss,
                    fingerprints=PlanFingerprints(records, changes)
                    if uses_fingerprints(scope, prune)
                    else None,
                )
                findings = self._workload_findings(rt, workloads_in_plan) + self._plan_findings(
                    rt, plan
                )
                from podium.engine.deployer_checks import deployer_findings

                # Not subject to [policies] levels: protect_data is the one switch; what a
                # deployer cannot run is the deployer's to say.
                plan.findings = (
                    self._apply_levels(findings, env)
                    + data_loss.findings(changes, rt.env.protect_data)
                    + deployer_findings(rt, workloads_in_plan)
                )
                for finding in plan.findings:
                    rt.event(
                        "policy.finding",
                        finding.subject,
                        finding.message,
                        finding=finding.to_dict(),
                    )
                from podium.engine.plan_report import plugin_versions

                plan.plugins = plugin_versions(self.plugins.plugins, plan.changes)
                plan._parsed = {} if destroy else parsed
                rt.event("plan.finished", message=f"plan for {env}", counts=plan.counts)
                with self._lock:
                    self._own_plans[id(plan)] = plan
                return plan

    @audited("verify", plan_target, only_inside=True)
    def verify_plan(
        self, plan: Plan, *, env: str | None = None, take_over: Sequence[str] = ()
    ) -> Plan:
        """Recompute a saved plan from the Score sources it embeds and return the recomputation.

        Raises :class:`~podium.errors.PlanVerificationError` (exit 12) when the plan
        differs from what its own sources plan now against the current config and
        state (an edited file), or when ``env`` names another environment than the
        plan's; :class:`~podium.errors.StalePlanError` (exit 8) when state or config
        moved on since it was made. :meth:`apply` calls this for every plan this
        platform did not make itself.
        """
        from podium.engine.verify import verify_saved_plan

        verified = verify_saved_plan(self, plan, env=env, take_over=take_over)
        # parsed here from the saved plan's own sources: apply need not parse them again
        verified.plan._parsed.update(
            {(w["source"], w.get("path") or ""): wl for w, wl in verified.parsed}
        )
        return verified.plan

    def _plan_path(self, path: Path | None) -> str:
        """How a plan records a Score file: relative to the platform root when inside it.

        So a plan saved in one checkout (a pull request's) verifies and applies in another
        (the deploy job's) with the same layout. Files outside the root stay absolute.
        """
        if path is None:
            return ""
        absolute = Path(os.path.abspath(path))
        for candidate in (absolute, absolute.resolve()):
            if candidate.is_relative_to(self.root):
                return candidate.relative_to(self.root).as_posix()
        return str(absolute)

    def _made_here(self, plan: Plan) -> bool:
        """Whether ``plan`` is an object this platform's :meth:`plan` returned (no re-check)."""
        with self._lock:
            return self._own_plans.get(id(plan)) is plan

    def _session(self, rt: EngineRuntime) -> EngineSession:
        """The engine session of one operation on ``rt``'s environment (it owns the lease,
        reconcile, journal, history and releases: :mod:`podium.engine.session`)."""
        from podium.engine.session import EngineSession

        return EngineSession(rt, self.actor, stop=self._runs.current_stop())

    def _workload_findings(self, rt: EngineRuntime, workloads: Sequence[Workload]) -> list[Finding]:
        findings: list[Finding] = []
        packs = self.plugins.registrations(POLICY_PACKS)
        for workload in workloads:
            for result in self.plugins.broadcast(
                "podium_validate_workload", workload=workload, env=rt.env
            ):
                findings.extend(result.value)
            for pack in packs.values():
                found = self.plugins.call_instrumented(
                    pack.plugin,
                    f"{pack.name}.check_workload",
                    pack.obj.check_workload,
                    workload,
                    rt.env,
                )
                findings.extend(found or ())
        return findings

    def _plan_findings(self, rt: EngineRuntime, plan: Plan) -> list[Finding]:
        findings: list[Finding] = []
        for result in self.plugins.broadcast("podium_check_plan", plan=plan, env=rt.env):
            findings.extend(result.value)
        for pack in self.plugins.registrations(POLICY_PACKS).values():
            found = self.plugins.call_instrumented(
                pack.plugin, f"{pack.name}.check_plan", pack.obj.check_plan, plan, rt.env
            )
            findings.extend(found or ())
        return findings

    def _check_policy_names(self) -> None:
        """Refuse a policy key (``[policies]``, ``[environments.<name>.policies]``) naming
        a check its loaded pack does not have (see :mod:`podium.security.policy_levels`)."""
        from podium.config.loader import ConfigErrors
        from podium.security.policy_levels import unknown_policy_errors

        packs = self.plugins.registrations(POLICY_PACKS)
        errors = unknown_policy_errors(self.config, packs, self._locate)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ConfigErrors(list[InputError](errors))

    def _apply_levels(self, findings: list[Finding], env: str) -> list[Finding]:
        from podium.security.policy_levels import apply_levels

        return apply_levels(findings, self.config, env)

    @_operation
    @audited("apply", plan_target)
    def apply(
        self,
        plan: Plan,
        *,
        parallelism: int | None = None,
        raise_on_failure: bool = False,
        take_over: Sequence[str] = (),
        lock_timeout: float = 0.0,
        allow_data_loss: bool = False,
    ) -> ApplyResult:
        """Apply ``plan`` exactly; refuse it if state changed since it was made.

        A plan this platform did not make (read with ``Plan.from_dict``, or made by
        another ``Platform``) is first verified with :meth:`verify_plan` and the
        recomputed plan is applied. Raises :class:`~podium.errors.PlanVerificationError`
        when it does not verify, :class:`~podium.errors.PolicyBlockedError` when the plan has a
        mandatory finding, :class:`~podium.errors.StalePlanError` when state moved
        on, :class:`~podium.errors.LockedError` when another run holds the lock,
        :class:`~podium.errors.OwnershipError` when the plan takes over something
        ``take_over`` does not name (a plan file cannot grant itself a take-over).

        ``lock_timeout``: seconds to wait for the lock another run holds (default 0:
        fail at once). :meth:`cancel` (or :meth:`close`) stops the run: changes already
        running finish and are recorded, the others are skipped, the lock is released and
        history records the run ``cancelled`` (``result.cancelled``; ``raise_on_failure``
        raises :class:`~podium.errors.CancelledError`).

        ``allow_data_loss``: consent to the plan's DATA LOSS changes in a protected
        environment (see :mod:`podium.engine.data_loss`); history records the uids. A plan
        file cannot consent for the operator: its recomputation starts without consent.
        """
        self.plugins.require_loaded("apply")

        if not self._made_here(plan):
            # Read from a file, or built elsewhere: apply what its sources plan now, if equal.
            plan = self.verify_plan(plan, take_over=take_over)
        if allow_data_loss and not plan.allow_data_loss:
            from dataclasses import replace

            plan = replace(plan, allow_data_loss=True)
        blocking = plan.blocking_findings
        if blocking:
            lines = "\n  ".join(f"{f.policy}: {f.subject or ''} {f.message}" for f in blocking)
            raise PolicyBlockedError(
                f"{len(blocking)} mandatory policy finding(s) block apply:\n  {lines}",
                hint="fix the workload, or set the policy's level in [policies] of podium.toml"
                + _data_loss_hint(blocking),
            )
        # Bind the key (checked, or made for a new environment) before this run writes
        # history or intents: afterwards a new environment looks like state whose key is lost.
        self.cipher(plan.environment)
        workloads = self._plan_workloads(plan)
        rt = self.runtime(plan.environment, workloads)
        env_config = self.config.environments[plan.environment]
        width = parallelism or env_config.parallelism or self.config.engine.parallelism
        result = self._session(rt).apply(
            plan,
            parallelism=width,
            take_over=take_over,
            lock_timeout=lock_timeout,
            config_digest=self.config_digest(),
        )
        if raise_on_failure:
            result.raise_for_failures()
        return result

    def _holds_data(self, provisioner: str) -> bool:
        """Whether a provisioner's resources hold data; True when it is not registered
        (fail closed: a plugin removed from the config may have held a database)."""
        from podium.provisioning.schema import resource_schema

        try:
            registered = self.plugins.registered(PROVISIONERS, provisioner)
        except NotFoundError:
            return True
        return resource_schema(registered.obj).holds_data

    def _plan_workloads(self, plan: Plan) -> list[Workload]:
        from podium.workload.loader import load_workload_text

        parsed = plan._parsed
        return [
            parsed.get((w["source"], w.get("path") or ""))
            or load_workload_text(
                w["source"], self.root / w["path"] if w.get("path") else f"<plan:{w['name']}>"
            )
            for w in plan.workloads
        ]

    @_operation
    @audited("up", files_target)
    def up(
        self,
        env: str,
        files: Iterable[WorkloadInput],
        *,
        parallelism: int | None = None,
        prune: bool = False,
        owner: str | None = None,
        take_over: Sequence[str] = (),
        lock_timeout: float = 0.0,
        allow_data_loss: bool = False,
    ) -> tuple[Plan, ApplyResult]:
        """Plan and apply in one step (the plan is still policy- and ownership-checked).

        The plan asks deployers whether the recorded workloads still run, so a
        workload that went down (a reboot, a stopped process) is deployed again.
        """
        plan = self.plan(
            env,
            files,
            prune=prune,
            refresh_deployments=True,
            owner=owner,
            take_over=take_over,
            lock_timeout=lock_timeout,
            allow_data_loss=allow_data_loss,
        )
        applied = self.apply(
            plan, parallelism=parallelism, take_over=take_over, lock_timeout=lock_timeout
        )
        return plan, applied

    @_operation
    @audited("destroy", destroy_target)
    def destroy(
        self,
        env: str,
        *,
        workloads: Sequence[str] | None = None,
        parallelism: int | None = None,
        owner: str | None = None,
        take_over: Sequence[str] = (),
        lock_timeout: float = 0.0,
        allow_data_loss: bool = False,
    ) -> tuple[Plan, ApplyResult]:
        """Delete the named workloads (default: everything in ``env``), dependents first.

        With ``owner``, only what that owner holds (or ``take_over`` names) may go.
        """
        plan = self.plan(
            env,
            destroy=True,
            workloads=workloads,
            owner=owner,
            take_over=take_over,
            lock_timeout=lock_timeout,
            allow_data_loss=allow_data_loss,
        )
        applied = self.apply(
            plan, parallelism=parallelism, take_over=take_over, lock_timeout=lock_timeout
        )
        return plan, applied

    # ----------------------------------------------------------------- runtime
    def deployments(self, env: str) -> list[ResourceRecord]:
        return [r for r in self.store(env).records() if r.kind == "deployment"]

    def _deployment(self, env: str, workload: str) -> ResourceRecord:
        for record in self.deployments(env):
            if record.uid == f"deployment:{workload}":
                return record
        known = ", ".join(r.uid.split(":", 1)[1] for r in self.deployments(env)) or "none"
        raise NotFoundError(
            f"workload {workload!r} is not deployed in {env!r}", hint=f"deployed: {known}"
        )

    def status(
        self,
        env: str,
        workload: str | None = None,
        *,
        probe: bool = True,
        signals: bool = True,
    ) -> list[WorkloadStatus]:
        """Health of deployed workloads, from their deployers.

        ``probe`` (the default): ask every deployer now, all workloads at once.
        ``probe=False``: take the health a deployer recorded in the background
        (:meth:`~podium.deployment.contract.Deployer.recorded_status`, with its
        ``checked_at``) and ask live only those that recorded none.
        ``signals=False``: leave out the monitoring plugins' ``podium_workload_signals``
        (a monitoring system asking for readiness does not need its own answers back).
        """
        from concurrent.futures import ThreadPoolExecutor

        from podium.engine.deploy_context import deploy_context
        from podium.golden_paths.provenance import from_attributes

        records = [self._deployment(env, workload)] if workload else self.deployments(env)
        info = self.environment(env)
        calls = []
        for record in records:
            registered = self.plugins.registered(DEPLOYERS, record.provider)
            name = record.uid.split(":", 1)[1]
            ctx = deploy_context(registered, name, info, recorded_outputs=record.outputs)
            calls.append((registered, ctx, record, name))

        def ask(call: tuple[Any, Any, ResourceRecord, str]) -> WorkloadStatus:
            registered, ctx, record, name = call
            status = health(registered, ctx)
            template = from_attributes(record.attributes)
            if template:
                status = status.model_copy(update={"template": str(template)})
            found = (
                self.plugins.broadcast(
                    "podium_workload_signals", on_error=_log_signal_error, workload=name, env=info
                )
                if signals
                else []
            )
            if found:
                status = status.model_copy(
                    update={"signals": {r.plugin.name: dict(r.value) for r in found}}
                )
            return status

        def health(registered: Any, ctx: Any) -> WorkloadStatus:
            # getattr: a deployer that does not subclass Deployer may lack the method
            recorded_status = getattr(registered.obj, "recorded_status", None)
            if not probe and recorded_status is not None:
                recorded: WorkloadStatus | None = self.plugins.call_instrumented(
                    registered.plugin, f"{registered.name}.recorded_status", recorded_status, ctx
                )
                if recorded is not None:
                    return recorded
            live: WorkloadStatus = self.plugins.call_instrumented(
                registered.plugin, f"{registered.name}.status", registered.obj.status, ctx
            )
            return live

        if len(calls) < 2:
            return [ask(call) for call in calls]
        with ThreadPoolExecutor(max_workers=min(len(calls), 16)) as pool:
            return list(pool.map(ask, calls))

    def logs(
        self,
        env: str,
        workload: str,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        from podium.engine.deploy_context import deploy_context

        record = self._deployment(env, workload)
        registered = self.plugins.registered(DEPLOYERS, record.provider)
        info = self.environment(env)
        ctx = deploy_context(registered, workload, info, recorded_outputs=record.outputs)
        lines: Iterator[LogLine] = self.plugins.call_instrumented(
            registered.plugin,
            f"{registered.name}.logs",
            registered.obj.logs,
            ctx,
            container=container,
            follow=follow,
            tail=tail,
        )
        return lines

    def render(
        self, env: str, files: Iterable[WorkloadInput] = (), *, out: Path | str | None = None
    ) -> list[WorkloadManifests]:
        """The manifests ``env``'s deployer would run for ``files``; one file each in ``out``.

        Needs a deployer that renders (:class:`~podium.plugin.Renderer`); resources must
        be provisioned already (their recorded outputs fill the placeholders). Deploys
        nothing; returns :class:`~podium.engine.manifests.WorkloadManifests`.
        """
        from podium.engine.manifests import render_manifests

        self.plugins.require_loaded("render")
        workloads = self.load_workloads(files)
        return render_manifests(self, env, workloads, Path(out) if out is not None else None)

    def releases(self, env: str, workload: str) -> list[dict[str, Any]]:
        """Release history of a workload, oldest first, secrets redacted."""
        cipher = self.cipher(env)
        return [redact(cipher.unseal(r)) for r in self.store(env).releases(workload)]

    @_operation
    def rollback(
        self, env: str, workload: str, *, to: int | None = None, lock_timeout: float = 0.0
    ) -> dict[str, Any]:
        """Redeploy an earlier release (default: the last good one before the current).

        ``lock_timeout``: seconds to wait for the lock another run holds (default: fail at once).
        """
        self.plugins.require_loaded("rollback")
        self._deployment(env, workload)  # not deployed: say so before waiting for the lease
        self.cipher(env)
        return self._session(self.runtime(env)).rollback(workload, to=to, lock_timeout=lock_timeout)

    def history(
        self, env: str, limit: int = 50, *, kinds: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The audit trail of ``env``, newest first (only entries of ``kinds``, if given;
        see :mod:`podium.engine.audit`)."""
        from podium.engine.audit import read_history

        return read_history(self.store(env), limit, kinds)

    def audit(self, env: str, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` records of ``env``'s hash-chained audit trail, newest first:
        who, what, when, plan digest, result, decision and hash of each (see
        :mod:`podium.engine.audit_trail`). The records :meth:`history` summarises."""
        from podium.engine.audit_trail import list_records

        return list_records(self.store(env), env, limit)

    def verify_audit(self, env: str) -> dict[str, Any]:
        """Verify ``env``'s audit chain: ``ok``, the number of records, the head, and the
        first bad record with what is wrong with it (an edit, a deletion)."""
        from podium.engine.audit_trail import verify

        return {"environment": env, **verify(self.store(env), env).to_dict()}

    def outputs(self, env: str, *, show_secrets: bool = False) -> dict[str, dict[str, Any]]:
        """Outputs of every node in ``env``; secrets stay redacted unless ``show_secrets``
        (history then records which nodes' secrets were revealed, never the values)."""
        cipher = self.cipher(env)
        result: dict[str, dict[str, Any]] = {}
        revealed: list[str] = []
        for record in self.store(env).records():
            outputs = cipher.unseal(record.outputs)
            result[record.uid] = _reveal(outputs) if show_secrets else redact(outputs)
            if show_secrets and result[record.uid] != redact(outputs):
                revealed.append(record.uid)
        if revealed:
            from podium.engine.audit import record_reveal

            record_reveal(self, env, "secret outputs", revealed, "outputs --show-secrets")
        return result

    # ------------------------------------------------------------- state ops
    def unlock(self, env: str) -> Any:
        """Remove the lock whoever holds it; history records it, and the holder's run
        (gone, or it would not be unlocked) as ``aborted``."""
        previous = self.store(env).force_unlock()
        if previous is not None:
            from podium.engine.audit import record_state_edit, settle_abandoned_runs

            held = f"{previous.owner} (pid {previous.pid}, {previous.operation})"
            try:
                settle_abandoned_runs(self.store(env), "", f"its lock was removed by {self.actor}")
                record_state_edit(self, env, "unlock", f"removed the lock of {held}", "")
            except StateError as exc:
                # The lock is gone either way, and unlock is how damaged state is repaired:
                # say that history missed it rather than fail the repair.
                logging.getLogger("podium").warning(
                    "unlocked %s, but history could not record it: %s", env, exc.message
                )
        return previous

    @_operation
    def rekey(
        self, *, lock_timeout: float = 0.0, on_step: Callable[[str], None] | None = None
    ) -> RekeyResult:
        """Rotate the state key and seal every secret again, crash-safely (``podium state
        rekey``; see :mod:`podium.security.rekey`). Holds every environment's lock."""
        from podium.security.rekey import rekey

        return rekey(self, lock_timeout=lock_timeout, on_step=on_step)

    def forget_key(self) -> None:
        """Drop the loaded state key: the next use loads it again (after a rekey step)."""
        with self._lock:
            self._cipher = None
            self._key_checked.clear()

    def forget(self, env: str, uid: str) -> None:
        """Drop a record from state without touching the real resource."""
        store = self.store(env)
        if not any(r.uid == uid for r in store.records()):
            raise NotFoundError(f"no record {uid!r} in {env!r}")
        store.delete_record(uid)
        store.forget_generated(uid)
        from podium.engine.audit import record_state_edit

        record_state_edit(self, env, "forget", f"forgot {uid}", uid)

    def intents(self, env: str) -> list[PendingIntent]:
        """The intents pending in ``env``: side effects whose outcome is not recorded (a run
        in progress, or one that died; one whose check failed stays until resolved)."""
        self.cipher(env)
        return self._session(self.runtime(env)).pending()

    @_operation
    def resolve_intent(
        self, env: str, node: str, how: str, *, lock_timeout: float = 0.0
    ) -> list[str]:
        """Settle the pending intents of ``node`` by hand: ``"retry"`` asks its provider
        again, ``"gone"`` records that its resource does not exist (the next plan creates
        it), ``"adopt"`` that it exists as journaled (the next apply updates it).
        Returns what was done."""
        if how not in ("gone", "adopt", "retry"):
            raise InputError(f"unknown resolution {how!r}", hint="gone, adopt or retry")
        self.cipher(env)
        notes = self._session(self.runtime(env)).resolve(node, how, lock_timeout)
        from podium.engine.audit import record_state_edit

        record_state_edit(self, env, "resolve", f"{node}: {how}: " + "; ".join(notes), node)
        return notes

    @_operation
    def import_resource(
        self, env: str, files: Iterable[WorkloadInput], uid: str, physical_name: str
    ) -> ResourceRecord:
        """Adopt an existing real resource as the node ``uid`` of these workloads."""
        from podium.engine.desired import desired_nodes

        workloads = self.load_workloads(files)
        from podium.engine.ownership import check_import, workload_owners

        owners = workload_owners(workloads, self.root, self.config.teams)
        rt = self.runtime(env, workloads)
        nodes = {n.uid: n for n in desired_nodes(rt, workloads)}
        node = nodes.get(uid)
        if node is None or node.kind != "resource":
            raise NotFoundError(
                f"no resource {uid!r} in these workloads",
                hint="resources: " + ", ".join(n for n, v in nodes.items() if v.kind == "resource"),
            )
        owner = check_import(rt.store.records(), uid, owners[node.workload or ""])
        record = self._session(rt).import_resource(node, physical_name, owner)
        from podium.engine.audit import record_state_edit

        record_state_edit(self, env, "import", f"imported {uid} as {physical_name}", uid)
        return record

    # ---------------------------------------------------------------- secrets
    @property
    def secrets(self) -> SecretStore:
        """The secret store selected by ``[secrets] store``."""
        return self.plugins.registered(SECRET_STORES, self.config.secrets.store).obj

    def set_secret(self, key: str, value: str | Secret, *, env: str | None = None) -> int:
        """Store a new version of ``key``: platform-wide, or for ``env`` only (overriding
        the platform-wide value there). Returns the version (0: the store numbers none).
        The next plan updates the workloads using it (``secret KEY rotated``)."""
        if env is not None:
            self.environment(env)  # an unknown environment is an error, not a new scope
        secret = value if isinstance(value, Secret) else Secret(value)
        version = self.secrets.put_in(key, secret, env)
        what = f"version {version}" if version else "set"
        self._record_secret_change("set", key, env, ("rotated to " if version > 1 else "") + what)
        return version

    def delete_secret(self, key: str, *, env: str | None = None) -> None:
        """Delete ``key`` platform-wide or in ``env`` only (missing is fine)."""
        if env is not None:
            self.environment(env)
        self.secrets.delete_in(key, env)
        self._record_secret_change("delete", key, env, "deleted")

    def _record_secret_change(self, action: str, key: str, env: str | None, what: str) -> None:
        """Audit a secret change (key and version, never the value) in the history of each
        environment it affects: ``env``, or all of them for a platform-wide secret."""
        scope = env or "platform-wide"
        for name in [env] if env is not None else self.environments:
            # Bind the state key first: state written without it could never get one later.
            self.cipher(name)
            self.store(name).add_history(
                {
                    "run_id": "",
                    "operation": f"secrets {action}",
                    "who": self.actor,
                    "finished_at": _now(),
                    "status": "succeeded",
                    "workloads": [],
                    "changes": [
                        {
                            "uid": f"secret:{key}",
                            "action": action,
                            "status": "succeeded",
                            "message": f"{key} ({scope}): {what}",
                        }
                    ],
                }
            )

    def secret_versions(self, env: str | None = None) -> list[SecretVersion]:
        """Stored secrets without values: platform-wide, or as ``env`` sees them (one entry
        per key: its own if set, else the platform-wide one)."""
        if env is None:
            return self.secrets.versions(None)
        from podium.security.env_secrets import EnvironmentSecrets

        view = EnvironmentSecrets(self.secrets, self.environment(env).environment)
        return [entry for key in view.list() if (entry := view.resolve(key)) is not None]

    # ------------------------------------------------------------------ close
    def cancel(self) -> int:
        """Stop this platform's running operations (safe from any thread, a signal handler too).

        Each running apply, up, destroy or rollback starts no new change: changes
        already running finish and are journaled, the lock is released and history
        records the run ``cancelled``; a wait for the lock ends with
        :class:`~podium.errors.CancelledError`. Operations started afterwards are not
        affected. Returns how many operations were running.
        """
        return self._runs.cancel()

    def close(self) -> None:
        """Close state stores and flush telemetry. The platform is unusable afterwards.

        A run in progress (another thread's apply, say) is cancelled as by :meth:`cancel`,
        and close() waits for it to finish cleanly before closing the stores (called from
        inside a run, an event callback, it returns at once and the closing happens when
        that run ends). Afterwards every method that needs state or plugins raises
        :class:`~podium.errors.ClosedError`.
        """
        self._runs.close(self._close_now)

    def _close_now(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self.plugins.broadcast(
                    "podium_platform_closing",
                    platform=self,
                    on_error=lambda err: _log().warning("closing hook failed", error=str(err)),
                )
            finally:
                for store in self._stores.values():
                    store.close()
                self._stores.clear()
                self._events.close()
                if self._tracer_provider is not None:
                    self._tracer_provider.shutdown()
                if self.meter_provider is not None:
                    self.meter_provider.shutdown()  # exports what is left

    # ---------------------------------------------------------------- helpers
    def _span(self, name: str, env: str) -> Any:
        tracer = self._tracer()
        if tracer is None:
            from contextlib import nullcontext

            return nullcontext()
        return tracer.start_as_current_span(
            name, attributes={"podium.platform": self.name, "podium.environment": env}
        )


def _log() -> Any:
    from podium.observability.logging import get_logger

    return get_logger("podium.platform")


def _log_signal_error(exc: Exception) -> None:
    """A monitoring plugin failing never hides the deployer's status: warn, go on."""
    _log().warning("workload signals unavailable", error=str(exc))


def _data_loss_hint(blocking: Sequence[Finding]) -> str:
    from podium.engine.data_loss import POLICY

    if any(f.policy == POLICY for f in blocking):
        return "; to lose the data on purpose, apply again with --allow-data-loss"
    return ""


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def _reveal(value: Any) -> Any:
    from podium.security.secret import reveal

    return reveal(value)
