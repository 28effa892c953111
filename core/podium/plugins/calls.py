"""Instrumented calls into plugin code.

Every call the core makes into a plugin (a registration hook, a broadcast hook,
a provisioner or deployer method) goes through :func:`invoke`, which

* sets :data:`current_hook_call` so logs emitted inside the call name the plugin;
* opens an OpenTelemetry span ``podium.hook/<hook>`` -- only when a recording
  tracer was given, because even a no-op span costs several times the call;
* turns any exception into a :class:`PluginCallError` naming the plugin, its
  distribution and version, chained from the original;
* with ``PODIUM_TRACE_HOOKS=1`` prints the call and its duration to stderr.

This module imports nothing heavy: OpenTelemetry is only touched through the
tracer object the caller passes in.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from podium.errors import ExitCode, PluginError, PodiumError, TransientError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HookCall:
    """Which plugin code is running: read by the logging processor and by error reports."""

    plugin: str
    distribution: str | None
    version: str | None
    hook: str


#: The plugin call in progress in this thread or task, or ``None`` outside plugin code.
current_hook_call: ContextVar[HookCall | None] = ContextVar("podium_hook_call", default=None)


class PluginCallError(PluginError):
    """A plugin raised while the core called it.

    ``original`` is the exception the plugin raised. Errors the plugin raised on
    purpose keep their meaning: ``is_transient`` tells the engine to retry a
    :class:`~podium.errors.TransientError`, and the exit code is the original's
    when it was a :class:`~podium.errors.PodiumError` (a missing secret still
    exits with NOT_FOUND), else PLUGIN_FAULT.
    """

    def __init__(
        self,
        message: str,
        *,
        plugin: str,
        distribution: str | None,
        version: str | None,
        hook: str,
        original: BaseException,
    ) -> None:
        super().__init__(
            message, plugin=plugin, distribution=distribution, version=version, hook=hook
        )
        self.original = original
        if isinstance(original, PodiumError):
            self.exit_code = original.exit_code
            self.hint = original.hint
        else:
            self.exit_code = ExitCode.PLUGIN_FAULT

    @property
    def is_transient(self) -> bool:
        return isinstance(self.original, TransientError)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["original"] = type(self.original).__name__
        return data


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` for foreign exceptions; a PodiumError's own message as is."""
    if isinstance(exc, PodiumError):
        return exc.message
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def invoke(
    call: HookCall,
    func: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    tracer: Any = None,
    trace_to_stderr: bool = False,
    observe: Callable[[HookCall, float, bool], None] | None = None,
) -> T:
    """Run ``func(*args, **kwargs)`` as plugin code described by ``call``.

    ``observe(call, seconds, failed)`` is told how long the call ran (the platform's
    ``podium.plugin.call.duration`` metric).
    """
    token = current_hook_call.set(call)
    started = time.perf_counter() if trace_to_stderr or observe is not None else 0.0
    failed: BaseException | None = None
    try:
        if tracer is None:
            return func(*args, **kwargs)
        with tracer.start_as_current_span(
            "podium.hook/" + call.hook,
            attributes=_span_attributes(call),
            record_exception=True,
            set_status_on_exception=True,
        ):
            return func(*args, **kwargs)
    except PluginCallError as exc:
        # Already attributed (plugin code calling back into instrumented code): keep it.
        failed = exc
        raise
    except Exception as exc:
        failed = exc
        raise PluginCallError(
            describe_exception(exc),
            plugin=call.plugin,
            distribution=call.distribution,
            version=call.version,
            hook=call.hook,
            original=exc,
        ) from exc
    finally:
        current_hook_call.reset(token)
        if observe is not None:
            observe(call, time.perf_counter() - started, failed is not None)
        if trace_to_stderr:
            _print_trace(call, time.perf_counter() - started, failed)


def _span_attributes(call: HookCall) -> dict[str, str]:
    attributes = {"podium.plugin": call.plugin, "podium.hook": call.hook}
    # OpenTelemetry rejects None attribute values; leave the key out instead.
    if call.distribution is not None:
        attributes["podium.plugin.distribution"] = call.distribution
    if call.version is not None:
        attributes["podium.plugin.version"] = call.version
    return attributes


def _print_trace(call: HookCall, seconds: float, failed: BaseException | None) -> None:
    source = call.plugin
    if call.distribution:
        source += f" ({call.distribution} {call.version or '?'})"
    outcome = "ok" if failed is None else f"raised {type(failed).__name__}"
    sys.stderr.write(f"podium: hook {call.hook} plugin={source} {seconds * 1000:.3f}ms {outcome}\n")
