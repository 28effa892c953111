"""Calling plugin code during apply: attributed to its plugin, within ``engine.timeout``."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from podium.errors import PluginError, TransientError

if TYPE_CHECKING:
    from podium.plugins.manager import PluginManager


class PluginCalls:
    """Calls into plugins for one run, with the engine's per-call timeout (``None``: none)."""

    def __init__(self, plugins: PluginManager, timeout: float | None) -> None:
        self.plugins = plugins
        self.timeout = timeout

    def __call__(
        self, registered: Any, operation: str, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Call ``func`` (``registered``'s ``operation``). The node span around it carries the
        plugin's attributes, so the call gets no span of its own."""
        what = f"{registered.obj.name}.{operation}"

        def call() -> Any:
            return self.plugins.call_attributed(registered.plugin, what, func, *args, **kwargs)

        if self.timeout is None:
            return call()
        return with_timeout(call, self.timeout, registered.plugin, what)


def with_timeout(func: Callable[[], Any], timeout: float, plugin: Any, what: str) -> Any:
    """Run ``func`` on a helper thread; give up (leaving it to finish) after ``timeout``.

    The error names the plugin with its distribution and version, like any plugin fault.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc

    # The helper thread runs in a copy of this context: log context and spans follow.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target,), name="podium-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise PluginError(
            f"{what} did not finish within {timeout:g}s (engine.timeout)",
            plugin=plugin.name,
            distribution=plugin.distribution,
            version=plugin.version,
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def as_outputs(registered: Any, operation: str, outputs: Any) -> dict[str, Any]:
    """A provisioner's return value as outputs; anything but a mapping is the plugin's fault."""
    if outputs is None:
        return {}
    if not isinstance(outputs, Mapping) or not all(isinstance(k, str) for k in outputs):
        raise PluginError(
            f"{registered.obj.name}.{operation} returned {type(outputs).__name__}, "
            "not a mapping of output names to values",
            plugin=registered.plugin.name,
            distribution=registered.plugin.distribution,
            version=registered.plugin.version,
        )
    return dict(outputs)


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may go away on retry (``TransientError``, or ``is_transient``)."""
    if isinstance(exc, TransientError):
        return True
    return bool(getattr(exc, "is_transient", False))
