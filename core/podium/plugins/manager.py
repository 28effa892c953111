"""The plugin manager: load plugins safely, collect what they register, call their hooks.

One :class:`PluginManager` per platform (no global state). Loading is lazy and
idempotent. Every plugin loads inside its own guard: a plugin that cannot be
imported, declares an incompatible ``PODIUM_API``, fails its pin or the lock,
registers something invalid or whose registration hook does not return in time
is marked ``failed`` with a :class:`~podium.errors.PluginError` naming its
distribution and version, and the other plugins keep working for read-only use
(listing, status, doctor). Invalid ``[plugins.<name>]`` settings are different:
they are a mistake in the config, so :meth:`PluginManager.load` raises
:class:`PluginSettingsError` (a :class:`~podium.errors.ConfigError`, exit 3, with
the file, line and key), for optional plugins too.

Fail closed: a run that changes something (plan, apply, up, destroy, rollback)
or vouches for a change (validate) calls :meth:`PluginManager.require_loaded`
first, which refuses while any plugin that was meant to load has failed -- a
failed policy plugin must never mean an unchecked apply -- unless ``[plugins]
optional`` lists it. Strict mode raises the first such fault while loading, so
read-only commands refuse too.

Name conflicts: two plugins registering the same name for one kind are a hard
error whenever that kind is used (``registrations(kind)`` and the typed
accessors raise :class:`~podium.errors.PluginConflictError` naming both plugins
and distributions), in strict and non-strict mode alike, because picking one
silently would make a platform's behaviour depend on install order. Strict
mode also raises it at load time. ``[plugins] deny`` resolves a conflict.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
import types
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from podium.errors import (
    ConfigError,
    ExitCode,
    IncompatiblePluginError,
    Location,
    NotFoundError,
    PluginConflictError,
    PluginError,
)
from podium.plugins.calls import HookCall, PluginCallError, describe_exception, invoke
from podium.plugins.kinds import (
    CLI_COMMANDS,
    DEPLOYERS,
    HOOKSPEC_MODULES,
    KINDS,
    POLICY_PACKS,
    PROVISIONERS,
    SECRET_STORES,
    STATE_BACKENDS,
    TELEMETRY_SINKS,
    Kind,
)
from podium.version import API_VERSION, __version__

if TYPE_CHECKING:
    import pluggy

    from podium.config.models import PluginsSection
    from podium.deployment.contract import Deployer
    from podium.observability.contract import TelemetrySink
    from podium.platform.context import PlatformInfo
    from podium.platform.contract import CliCommand, StateBackend
    from podium.plugins.deprecations import HookDeprecations
    from podium.plugins.discovery import Candidate
    from podium.provisioning.contract import Provisioner
    from podium.security.contract import PolicyPack, SecretStore

T = TypeVar("T")
Status = Literal["loaded", "failed", "disabled", "not-allowed"]
Source = Literal["entry-point", "python", "builtin"]
Locate = Callable[[tuple[str | int, ...]], Location | None]

_TRUE = {"1", "true", "yes", "on"}
#: seconds a registration hook may take unless ``[plugins] registration_timeout`` says otherwise
DEFAULT_REGISTRATION_TIMEOUT = 10.0


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in _TRUE


@dataclass
class PluginInfo:
    """What ``podium plugins list`` shows about one plugin."""

    name: str
    source: Source
    distribution: str | None = None
    version: str | None = None
    status: Status = "loaded"
    error: PluginError | None = None
    #: Why a plugin was not loaded when that is not a failure (denied, not allowed, --no-plugins).
    note: str = ""
    hooks: list[str] = field(default_factory=list)
    registrations: dict[str, list[str]] = field(default_factory=dict)
    api: str | None = None
    value: str | None = None  #: the entry point's ``module:attr``
    warnings: list[str] = field(default_factory=list)
    #: listed in ``[plugins] optional``: its failure to load refuses no change
    optional: bool = False
    settings: Any = field(default=None, repr=False)
    obj: Any = field(default=None, repr=False)

    @property
    def error_message(self) -> str | None:
        return str(self.error) if self.error is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "source": self.source,
            "api": self.api,
            "entry_point": self.value,
            "hooks": list(self.hooks),
            "registrations": {k: list(v) for k, v in self.registrations.items()},
            "error": self.error_message,
            "note": self.note or None,
            "optional": self.optional,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Registered(Generic[T]):
    """One registered object (a provisioner, a deployer...) and the plugin that provided it.

    ``Registered[Provisioner]`` (what ``registered(PROVISIONERS, name)`` returns) has
    ``obj: Provisioner``.
    """

    name: str
    kind: str
    obj: T
    plugin: PluginInfo


@dataclass(frozen=True)
class HookResult:
    """A broadcast hook's non-``None`` return value and the plugin that returned it."""

    plugin: PluginInfo
    value: Any


class PluginSettingsError(PluginError, ConfigError):
    """A plugin's ``[plugins.<name>]`` settings are invalid; ``errors`` point at each key.

    A config error (exit 3) as much as a plugin error: the platform team wrote those
    settings, so loading stops with it -- for an ``optional`` plugin too -- instead of
    going on without the plugin and failing later for a misleading reason.
    """

    exit_code = ConfigError.exit_code

    def __init__(
        self, error: ConfigError, *, plugin: str, distribution: str | None, version: str | None
    ) -> None:
        super().__init__(
            f"invalid settings: {error.message}",
            plugin=plugin,
            distribution=distribution,
            version=version,
        )
        self.config_error = error
        self.field = error.field
        self.location = error.location
        self.reason = f"invalid settings: {error.message}"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["field"] = self.field
        if self.location is not None:
            data["file"] = self.location.path
            data["line"] = self.location.line
        return data


class RequiredPluginError(PluginError):
    """A change is refused because a plugin that is not optional failed to load.

    Names the first failed plugin (``plugin``, ``distribution``, ``version``)
    and lists every one in the message; ``failures`` holds each plugin's own error.
    """

    exit_code = ExitCode.PLUGIN_FAULT

    def __init__(self, action: str, failed: Sequence[PluginInfo]) -> None:
        first = failed[0]
        reason = f"failed to load, so {action} is refused: {_reason(first)}"
        for other in failed[1:]:
            reason += f"; also {_describe(other)}: {_reason(other)}"
        names = ", ".join(f'"{info.name}"' for info in failed)
        hint = (
            "fix or reinstall it (podium plugins list shows why it failed), deny it in "
            f"[plugins] deny, or, if the platform is safe without it, set [plugins] optional = "
            f"[{names}]"
        )
        if first.error is not None and first.error.hint:
            hint = f"{first.error.hint}; otherwise {hint}"
        super().__init__(
            reason,
            plugin=first.name,
            distribution=first.distribution,
            version=first.version,
            hint=hint,
        )
        self.action = action
        self.failures = [info.error for info in failed if info.error is not None]

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        failed = [error.to_dict() for error in self.failures]
        # Where the first failure comes from a file (invalid settings): say where, as
        # every located error does.
        first = failed[0] if failed else {}
        data.update({k: v for k, v in first.items() if k in ("file", "line", "field")})
        data["failed"] = failed
        return data


class PluginManager:
    """Loads a platform's plugins and calls their hooks with attribution and tracing."""

    def __init__(
        self,
        settings: PluginsSection | None = None,
        *,
        load_entrypoints: bool = True,
        plugins: Sequence[object | tuple[str, object]] = (),
        builtins: Sequence[object | tuple[str, object]] = (),
        strict: bool | None = None,
        lock_path: Path | str | None = None,
        locate: Locate | None = None,
        platform_name: str = "podium",
        tracer_provider: Any = None,
        environ: Mapping[str, str] | None = None,
        registration_timeout: float | None = None,
        platform_info: PlatformInfo | None = None,
    ) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._settings = settings
        self._optional = {_key(name) for name in (settings.optional if settings else ())}
        if registration_timeout is None:
            registration_timeout = (
                settings.registration_timeout if settings else DEFAULT_REGISTRATION_TIMEOUT
            )
        #: seconds a registration hook may run before its plugin fails as hung
        self.registration_timeout = registration_timeout
        self._entrypoints_enabled = load_entrypoints and not _flag(
            self._environ, "PODIUM_NO_PLUGINS"
        )
        self._entrypoints_reason = (
            "installed plugins disabled (--no-plugins)"
            if not load_entrypoints
            else "installed plugins disabled (PODIUM_NO_PLUGINS)"
        )
        self._python_plugins = tuple(plugins)
        self._builtins = tuple(builtins)
        if strict is None:
            strict = bool(settings and settings.strict) or _flag(
                self._environ, "PODIUM_STRICT_PLUGINS"
            )
        self.strict = strict
        self.lock_path = Path(lock_path) if lock_path is not None else None
        self._locate = locate
        if platform_info is None:
            from podium.platform.context import PlatformInfo

            platform_info = PlatformInfo.here(platform_name)
        #: what registration hooks get as ``platform``; its root resolves path settings
        self.platform_info = platform_info
        self.platform_name = platform_info.name
        self._trace_hooks = _flag(self._environ, "PODIUM_TRACE_HOOKS")
        self._tracer: Any = None
        #: told ``(call, seconds, failed)`` after every plugin call (the platform's metrics)
        self.call_observer: Callable[[HookCall, float, bool], None] | None = None
        if tracer_provider is not None:
            from podium.observability.telemetry import is_recording

            if is_recording(tracer_provider):
                from podium.observability.tracers import get_tracer

                self._tracer = get_tracer(tracer_provider, "podium.plugins", __version__)
        self._lock = threading.RLock()
        self._loaded = False
        self._pm: pluggy.PluginManager | None = None
        self._infos: dict[str, PluginInfo] = {}
        self._registered: dict[str, list[Registered[Any]]] = {kind: [] for kind in KINDS}
        self._resolved: dict[str, dict[str, Registered[Any]]] = {}
        self._calls: dict[tuple[str, str], HookCall] = {}
        self._deprecations: dict[str, HookDeprecations] = {}
        self._broadcast_plans: dict[
            str, list[tuple[Any, tuple[str, ...], HookCall, PluginInfo]]
        ] = {}

    # ------------------------------------------------------------------ loading
    def load(self) -> PluginManager:
        """Load every plugin once; later calls return at once."""
        if self._loaded:
            return self
        with self._lock:
            if self._loaded:
                return self
            # Start clean: a strict load that raised may be retried.
            self._infos.clear()
            self._registered = {kind: [] for kind in KINDS}
            self._resolved.clear()
            self._broadcast_plans.clear()
            self._pm = self._new_pluggy()
            for entry in self._builtins:
                name, obj = _named(entry)
                info = PluginInfo(name, "builtin", "podium", __version__)
                self._guard(info, functools.partial(self._activate, info, obj))
            self._load_entry_points()
            for entry in self._python_plugins:
                name, obj = _named(entry)
                info = PluginInfo(name, "python", version=_version_of(obj))
                self._guard(info, functools.partial(self._activate, info, obj))
            self._fail_allowed_but_absent()
            self._loaded = True
        if self.strict:
            for kind in KINDS:
                self.registrations(kind)
        return self

    @property
    def pluggy_manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager (for advanced use; prefer :meth:`broadcast`)."""
        self.load()
        assert self._pm is not None
        return self._pm

    @property
    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or not, sorted by name."""
        self.load()
        return sorted(self._infos.values(), key=lambda p: (p.name, p.distribution or ""))

    def plugin(self, name: str) -> PluginInfo:
        self.load()
        info = self._infos.get(name)
        if info is None:
            raise NotFoundError(
                f"no plugin named {name!r}",
                hint="installed: " + (", ".join(sorted(self._infos)) or "none"),
            )
        return info

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status == "failed"]

    def require_loaded(self, action: str) -> None:
        """Refuse ``action`` (a change) while a plugin that is not optional failed to load.

        Only plugins that were meant to load can fail: denied, not allowed and
        ``--no-plugins`` plugins are not failures. Without ``[plugins] allow``
        every installed plugin is meant to load.
        """
        failed = [p for p in self.failures if not p.optional]
        if failed:
            raise RequiredPluginError(action, failed)

    def _new_pluggy(self) -> pluggy.PluginManager:
        import pluggy

        from podium.plugins.deprecations import take_declared
        from podium.plugins.markers import PROJECT_NAME

        pm = pluggy.PluginManager(PROJECT_NAME)
        for module in HOOKSPEC_MODULES:
            pm.add_hookspecs(importlib.import_module(module))
        # Declared on the hookspecs with pluggy's warn_on_impl(_args); warned by _register,
        # which can name the plugin (see podium.plugins.deprecations).
        self._deprecations = take_declared(pm)
        return pm

    def _load_entry_points(self) -> None:
        from podium.plugins.allowlist import Allowlist
        from podium.plugins.discovery import discover

        candidates = discover()
        if not candidates:
            return
        settings = self._settings
        allowlist = Allowlist(
            settings.allow if settings else None, settings.deny if settings else ()
        )
        locked = self._read_lock()
        for candidate in candidates:
            info = PluginInfo(
                candidate.name,
                "entry-point",
                candidate.distribution,
                candidate.version,
                value=candidate.value,
            )
            if not self._entrypoints_enabled:
                info.status, info.note = "disabled", self._entrypoints_reason
                self._remember(info)
                continue
            verdict = allowlist.check(candidate.name)
            if not verdict.allowed:
                info.status, info.note = verdict.status, verdict.reason  # type: ignore[assignment]
                self._remember(info)
                continue

            def load_one(
                info: PluginInfo = info, candidate: Candidate = candidate, pin: Any = verdict.pin
            ) -> None:
                problem = Allowlist.check_version(pin, candidate.version)
                if problem:
                    raise self._error(IncompatiblePluginError, info, problem)
                if locked is not None:
                    from podium.plugins.lock import verify

                    assert self.lock_path is not None
                    verify(candidate, locked, self.lock_path)
                obj = self._import(info, candidate)
                self._activate(info, obj)

            self._guard(info, load_one)

    def _fail_allowed_but_absent(self) -> None:
        """A plugin ``allow`` names that is not installed failed to load, like one that cannot
        import: a policy plugin the platform relies on but this machine lacks must not let
        changes through unchecked (fail closed; ``[plugins] optional`` makes it a warning)."""
        settings = self._settings
        if not self._entrypoints_enabled or settings is None or settings.allow is None:
            return
        from podium.plugins.allowlist import Allowlist

        present = {_key(info.name) for info in self._infos.values()}
        for name in Allowlist(settings.allow, settings.deny).required():
            if name in present:
                continue
            info = PluginInfo(name, "entry-point")

            def absent(info: PluginInfo = info) -> None:
                raise self._error(
                    PluginError,
                    info,
                    "listed in [plugins] allow but not installed",
                    hint=f"install the distribution that provides the plugin {info.name!r}, "
                    "remove it from [plugins] allow, or list it in [plugins] optional",
                )

            self._guard(info, absent)

    def _read_lock(self) -> dict[str, Any] | None:
        if self.lock_path is None or not self.lock_path.is_file():
            return None
        from podium.plugins.lock import read_lock

        return read_lock(self.lock_path)

    def _import(self, info: PluginInfo, candidate: Candidate) -> Any:
        try:
            return candidate.load()
        except ModuleNotFoundError as exc:
            missing = exc.name or str(exc)
            if candidate.module == missing or candidate.module.startswith(missing + "."):
                raise self._error(
                    PluginError,
                    info,
                    f"its entry point names module {candidate.module!r}, which cannot be found",
                    hint=f"reinstall {info.distribution}; its metadata and code disagree",
                ) from exc
            raise self._error(
                PluginError,
                info,
                f"missing dependency {missing!r} while importing {candidate.value!r}",
                hint=f"install what {info.distribution} needs, or deny it in [plugins] deny",
            ) from exc
        except Exception as exc:
            raise self._error(
                PluginError,
                info,
                f"import of {candidate.value!r} failed: {describe_exception(exc)}",
            ) from exc

    def _remember(self, info: PluginInfo) -> None:
        existing = self._infos.get(info.name)
        if existing is not None:
            # The same plugin name from two sources: keep the first, fail the second.
            info.status = "failed"
            info.error = PluginConflictError(
                f"plugin name {info.name!r} is already used by {_describe(existing)}",
                plugin=info.name,
                distribution=info.distribution,
                version=info.version,
            )
            key = f"{info.name}@{info.distribution or info.source}"
            self._infos[key] = info
            if self.strict and not info.optional:
                raise info.error
            return
        self._infos[info.name] = info

    def _guard(self, info: PluginInfo, action: Callable[[], None]) -> None:
        """Run one plugin's loading; turn any fault into a failed status (or raise, strict)."""
        info.optional = _key(info.name) in self._optional
        if info.name in self._infos:
            self._remember(info)
            return
        self._infos[info.name] = info
        try:
            action()
        except PluginSettingsError:
            # The config is invalid, not the plugin: stop loading, whatever optional and
            # strict say (load() starts clean when called again).
            info.status = "failed"
            raise
        except PluginError as exc:
            self._fail(info, exc)
        except Exception as exc:  # a bug in plugin code that escaped the narrower guards
            error = self._error(PluginError, info, describe_exception(exc))
            error.__cause__ = exc
            self._fail(info, error)

    def _fail(self, info: PluginInfo, error: PluginError) -> None:
        info.status = "failed"
        info.error = error
        if (
            self._pm is not None
            and info.obj is not None
            and self._pm.get_plugin(info.name) is info.obj
        ):
            self._pm.unregister(name=info.name)
        for kind in self._registered:
            self._registered[kind] = [r for r in self._registered[kind] if r.plugin is not info]
        info.registrations = {}
        from podium.observability.logging import get_logger

        get_logger("podium.plugins").warning(
            "plugin failed to load",
            plugin=info.name,
            distribution=info.distribution,
            version=info.version,
            error=error.reason,
            effect="optional: changes go on without it"
            if info.optional
            else "plan, apply, up, destroy, rollback and validate refuse until it loads "
            "(or [plugins] optional lists it)",
        )
        if self.strict and not info.optional:
            raise error

    def _error(
        self, cls: type[PluginError], info: PluginInfo, reason: str, hint: str | None = None
    ) -> PluginError:
        return cls(
            reason,
            plugin=info.name,
            distribution=info.distribution,
            version=info.version,
            hint=hint,
        )

    def _activate(self, info: PluginInfo, obj: Any) -> None:
        """Check, configure and register one imported plugin object."""
        from podium.platform.context import validate_name

        info.obj = obj
        try:
            validate_name(info.name, "plugin")
        except ValueError as exc:
            raise self._error(PluginError, info, str(exc)) from None
        self._check_api(info, obj)
        info.settings = self._resolve_settings(info, obj)
        self._register(info, obj)
        self._collect_registrations(info)
        info.status = "loaded"

    def _check_api(self, info: PluginInfo, obj: Any) -> None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import Version

        api = _attribute(obj, "PODIUM_API")
        if api is None and info.source == "builtin":
            info.api = API_VERSION  # the core's own plugin is always current
            return
        if api is None:
            info.warnings.append(
                f"declares no PODIUM_API; assuming it supports plugin API {API_VERSION}"
            )
            warnings.warn(
                f"plugin {info.name!r} ({info.distribution or info.source}) declares no "
                "PODIUM_API range",
                stacklevel=2,
            )
            return
        info.api = str(api)
        try:
            supported = SpecifierSet(str(api))
        except InvalidSpecifier:
            raise self._error(
                IncompatiblePluginError, info, f"PODIUM_API {api!r} is not a version range"
            ) from None
        if not supported.contains(Version(API_VERSION), prereleases=True):
            raise self._error(
                IncompatiblePluginError,
                info,
                f"supports plugin API {api}, but this Podium provides API {API_VERSION}",
                hint=f"install a version of {info.distribution or info.name} made for "
                f"Podium's API {API_VERSION}",
            )

    def _resolve_settings(self, info: PluginInfo, obj: Any) -> Any:
        table = self._settings.settings.get(info.name) if self._settings else None
        model = _attribute(obj, "Settings")
        if model is None:
            if table:
                info.warnings.append(
                    f"[plugins.{info.name}] is set but the plugin declares no Settings"
                )
            return None
        from pydantic import BaseModel

        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise self._error(PluginError, info, "Settings must be a pydantic BaseModel subclass")
        from podium.plugins.settings import resolve

        try:
            return resolve(
                info.name,
                model,
                table,
                self._environ,
                self._locate,
                base_dir=self.platform_info.root,
            )
        except ConfigError as exc:
            raise PluginSettingsError(
                exc, plugin=info.name, distribution=info.distribution, version=info.version
            ) from exc

    def _register(self, info: PluginInfo, obj: Any) -> None:
        import pluggy

        from podium.plugins.deprecations import warn_for

        pm = self._pm
        assert pm is not None
        try:
            pm.register(obj, name=info.name)
        except pluggy.PluginValidationError as exc:
            raise self._error(PluginError, info, f"invalid hook implementation: {exc}") from exc
        except ValueError as exc:
            raise self._error(PluginError, info, f"cannot register: {exc}") from exc
        hooks: list[str] = []
        for caller in pm.get_hookcallers(obj) or ():
            if caller.spec is None:
                raise self._error(
                    PluginError,
                    info,
                    f"implements {caller.name!r}, which is not a Podium hook (a typo?)",
                )
            for impl in caller.get_hookimpls():
                if impl.plugin is not obj:
                    continue
                if impl.hookwrapper or impl.wrapper:
                    raise self._error(
                        PluginError, info, f"{caller.name}: hook wrappers are not supported"
                    )
                declared = self._deprecations.get(caller.name)
                argnames = (*impl.argnames, *impl.kwargnames)
                for warning in declared.for_implementation(argnames) if declared else ():
                    warn_for(warning, impl.function, info.name, info.distribution)
            hooks.append(caller.name)
        info.hooks = sorted(hooks)
        self._broadcast_plans.clear()

    def _collect_registrations(self, info: PluginInfo) -> None:
        from podium.platform.context import validate_name

        pm = self._pm
        assert pm is not None
        arguments = {
            "settings": info.settings,
            "platform_name": self.platform_name,
            "platform": self.platform_info,
        }
        collected: list[Registered[Any]] = []
        for kind in KINDS.values():
            if kind.hook not in info.hooks:
                continue
            base = kind.base_class()
            names: list[str] = []
            for impl in getattr(pm.hook, kind.hook).get_hookimpls():
                if impl.plugin is not info.obj:
                    continue
                kwargs = {arg: arguments[arg] for arg in impl.argnames}
                result = self._call_registration(info, kind.hook, impl.function, kwargs)
                for item in _as_list(result, kind, info, self):
                    if not isinstance(item, base):
                        raise self._error(
                            PluginError,
                            info,
                            f"{kind.hook} returned {type(item).__name__}, not a {base.__name__}",
                        )
                    name = getattr(item, "name", None)
                    try:
                        validate_name(name, kind.label)
                    except ValueError as exc:
                        raise self._error(PluginError, info, f"{kind.hook}: {exc}") from None
                    assert isinstance(name, str)
                    if name in names:
                        raise self._error(
                            PluginError, info, f"{kind.hook} registered {name!r} twice"
                        )
                    names.append(name)
                    collected.append(Registered(name, kind.name, item, info))
            info.registrations[kind.name] = sorted(names)
        for registered in collected:
            self._registered[registered.kind].append(registered)
        self._resolved.clear()

    def _call_registration(
        self, info: PluginInfo, hook: str, function: Callable[..., Any], kwargs: dict[str, Any]
    ) -> Any:
        """One registration hook call, failed as hung after ``registration_timeout``."""
        from podium.plugins.timeouts import HookTimeoutError, call_with_timeout

        call = self._call(info, hook)
        try:
            return call_with_timeout(
                lambda: invoke(
                    call,
                    function,
                    (),
                    kwargs,
                    tracer=self._tracer,
                    trace_to_stderr=self._trace_hooks,
                    observe=self.call_observer,
                ),
                self.registration_timeout,
                thread_name=f"podium-plugin-{info.name}-{hook}",
            )
        except HookTimeoutError as exc:
            raise PluginError(
                str(exc),
                plugin=info.name,
                distribution=info.distribution,
                version=info.version,
                hook=hook,
                hint="the hook is still running in a background thread (Python cannot stop "
                "a thread): fix the plugin, deny it in [plugins] deny, or give it longer "
                "with [plugins] registration_timeout",
            ) from None

    # ------------------------------------------------------------ registrations
    @overload
    def registrations(self, kind: Kind[T]) -> dict[str, Registered[T]]: ...
    @overload
    def registrations(self, kind: str) -> dict[str, Registered[Any]]: ...
    def registrations(self, kind: Kind[Any] | str) -> dict[str, Registered[Any]]:
        """Everything registered of ``kind`` by name, sorted; conflicts raise.

        ``kind`` is a typed key from :mod:`podium.plugins.kinds` (``PROVISIONERS``...),
        or its plural name (``"provisioners"``, untyped, kept for compatibility).
        """
        key = kind if isinstance(kind, str) else kind.name
        if key not in KINDS:
            raise ValueError(f"unknown registration kind {key!r}; kinds: {', '.join(KINDS)}")
        self.load()
        resolved = self._resolved.get(key)
        if resolved is not None:
            return resolved
        with self._lock:
            by_name: dict[str, Registered[Any]] = {}
            for registered in self._registered[key]:
                other = by_name.get(registered.name)
                if other is not None:
                    raise PluginConflictError(
                        f"{KINDS[key].label} {registered.name!r} is registered by both "
                        f"{_describe(other.plugin)} and {_describe(registered.plugin)}",
                        plugin=registered.plugin.name,
                        distribution=registered.plugin.distribution,
                        version=registered.plugin.version,
                        hint="deny one of the two plugins in [plugins] deny",
                    )
                by_name[registered.name] = registered
            resolved = dict(sorted(by_name.items()))
            self._resolved[key] = resolved
            return resolved

    @overload
    def registered(self, kind: Kind[T], name: str) -> Registered[T]: ...
    @overload
    def registered(self, kind: str, name: str) -> Registered[Any]: ...
    def registered(self, kind: Kind[Any] | str, name: str) -> Registered[Any]:
        """One registration with its plugin, or NotFoundError listing what exists."""
        found = self.registrations(kind)
        if name in found:
            return found[name]
        label = KINDS[kind if isinstance(kind, str) else kind.name].label
        available = ", ".join(found) or "none"
        raise NotFoundError(
            f"no {label} named {name!r}; available: {available}",
            hint=f"install or allow the plugin that provides the {label} {name!r}",
        )

    def provisioner(self, name: str) -> Provisioner:
        return self.registered(PROVISIONERS, name).obj

    def deployer(self, name: str) -> Deployer:
        return self.registered(DEPLOYERS, name).obj

    def secret_store(self, name: str) -> SecretStore:
        return self.registered(SECRET_STORES, name).obj

    def policy_pack(self, name: str) -> PolicyPack:
        return self.registered(POLICY_PACKS, name).obj

    def telemetry_sink(self, name: str) -> TelemetrySink:
        return self.registered(TELEMETRY_SINKS, name).obj

    def state_backend(self, name: str) -> StateBackend:
        return self.registered(STATE_BACKENDS, name).obj

    def cli_command(self, name: str) -> CliCommand:
        return self.registered(CLI_COMMANDS, name).obj

    # -------------------------------------------------------------------- calls
    def broadcast(
        self,
        hook_name: str,
        *,
        on_error: Callable[[PluginCallError], None] | None = None,
        **kwargs: Any,
    ) -> list[HookResult]:
        """Call ``hook_name`` on every plugin implementing it, in pluggy's order.

        Returns the non-``None`` results with the plugin that produced each. A
        raising implementation stops the broadcast with a PluginCallError, unless
        ``on_error`` is given: then it receives the error and the others still run.
        """
        plan = self._broadcast_plans.get(hook_name)
        if plan is None:
            plan = self._plan_broadcast(hook_name)
        results: list[HookResult] = []
        tracer, trace, observe = self._tracer, self._trace_hooks, self.call_observer
        for function, argnames, call, info in plan:
            try:
                # ``settings`` (where a hookspec offers it) is each plugin's own.
                args = {
                    name: info.settings if name == "settings" else kwargs[name] for name in argnames
                }
            except KeyError as exc:
                raise TypeError(f"{hook_name} needs argument {exc.args[0]!r}") from None
            try:
                value = invoke(
                    call, function, (), args, tracer=tracer, trace_to_stderr=trace, observe=observe
                )
            except PluginCallError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                continue
            if value is not None:
                results.append(HookResult(info, value))
        return results

    def _plan_broadcast(
        self, hook_name: str
    ) -> list[tuple[Any, tuple[str, ...], HookCall, PluginInfo]]:
        self.load()
        with self._lock:
            assert self._pm is not None
            caller = getattr(self._pm.hook, hook_name, None)
            if caller is None or caller.spec is None:
                raise ValueError(f"{hook_name!r} is not a Podium hook")
            plan = []
            # pluggy calls the last registered (and tryfirst) implementations first.
            for impl in reversed(caller.get_hookimpls()):
                info = self._infos[impl.plugin_name]
                plan.append(
                    (impl.function, tuple(impl.argnames), self._call(info, hook_name), info)
                )
            self._broadcast_plans[hook_name] = plan
            return plan

    def call_instrumented(
        self,
        plugin: PluginInfo | str,
        hook_name: str,
        func: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        """Call plugin code (a provisioner or deployer method) with attribution and a span."""
        info = plugin if isinstance(plugin, PluginInfo) else self.plugin(plugin)
        return invoke(
            self._call(info, hook_name),
            func,
            args,
            kwargs,
            tracer=self._tracer,
            trace_to_stderr=self._trace_hooks,
            observe=self.call_observer,
        )

    def call_attributed(
        self,
        plugin: PluginInfo | str,
        hook_name: str,
        func: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        """Like :meth:`call_instrumented`, without a span of its own.

        For callers that already trace the call in a span carrying the plugin's
        attributes (the engine's node spans): one span per node, not two, halves
        the tracing cost of an apply. Log context and error attribution are the same.
        """
        info = plugin if isinstance(plugin, PluginInfo) else self.plugin(plugin)
        return invoke(
            self._call(info, hook_name),
            func,
            args,
            kwargs,
            tracer=None,
            trace_to_stderr=self._trace_hooks,
            observe=self.call_observer,
        )

    def _call(self, info: PluginInfo, hook_name: str) -> HookCall:
        key = (info.name, hook_name)
        call = self._calls.get(key)
        if call is None:
            call = HookCall(info.name, info.distribution, info.version, hook_name)
            self._calls[key] = call
        return call


# ---------------------------------------------------------------------- helpers
def _named(entry: object) -> tuple[str, object]:
    """``(name, obj)`` as given, or a name derived from a module or object."""
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return entry[0], entry[1]
    explicit = getattr(entry, "PODIUM_PLUGIN_NAME", None)
    if isinstance(explicit, str):
        return explicit, entry
    if isinstance(entry, types.ModuleType):
        return entry.__name__.rpartition(".")[2].replace("_", "-"), entry
    own = getattr(entry, "name", None)
    if isinstance(own, str):
        return own, entry
    cls = entry if isinstance(entry, type) else type(entry)
    return cls.__name__.lower(), entry


def _key(name: str) -> str:
    from podium.plugins.discovery import canonical_name

    return canonical_name(name)


def _reason(info: PluginInfo) -> str:
    error = info.error
    if error is None:
        return "failed to load"
    return f"in {error.hook}: {error.reason}" if error.hook else error.reason


def _attribute(obj: Any, name: str) -> Any:
    """``obj.<name>``, falling back to the module that defines a plugin object."""
    value = getattr(obj, name, None)
    if value is not None or isinstance(obj, types.ModuleType):
        return value
    module = importlib.import_module(obj.__module__) if hasattr(obj, "__module__") else None
    return getattr(module, name, None) if module is not None else None


def _version_of(obj: object) -> str | None:
    version = _attribute(obj, "__version__")
    return str(version) if version is not None else None


def _describe(info: PluginInfo) -> str:
    if info.distribution:
        return f"plugin {info.name!r} ({info.distribution} {info.version or '?'})"
    return f"plugin {info.name!r} ({info.source})"


def _as_list(result: Any, kind: Kind[Any], info: PluginInfo, manager: PluginManager) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, str | bytes) or not isinstance(result, Iterable):
        raise manager._error(
            PluginError,
            info,
            f"{kind.hook} must return a list of {kind.label} objects, not {type(result).__name__}",
        )
    return list(result)
