"""Deprecations in the plugin API, declared on the hookspecs with pluggy's own options.

A hookspec declares what is deprecated where it is defined::

    @hookspec(
        warn_on_impl_args={
            "platform_name": deprecated(
                "argument 'platform_name' of podium_provisioners",
                since="1.2", removal="2.0", instead="accept 'platform' and use platform.name",
            )
        }
    )
    def podium_provisioners(settings, platform_name, platform): ...

(``warn_on_impl=deprecated(...)`` deprecates a whole hook.) pluggy itself would
emit the warning while a plugin registers, but it cannot say *which* plugin: the
warning object is fixed when the spec is declared, and pluggy only points at the
implementing function's file and line. So the plugin manager takes the options off
its own hookspecs (:func:`take_declared`) and warns itself, at that same file and
line, with the plugin's name and distribution in front (:func:`warn_for`). The
author sees it in their test run (``-W error::DeprecationWarning`` fails it).
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluggy


class PodiumDeprecationWarning(DeprecationWarning):
    """A plugin uses something that will be removed in a later API version."""


def deprecated(what: str, *, since: str, removal: str, instead: str) -> PodiumDeprecationWarning:
    """The warning a hookspec declares in ``warn_on_impl`` or ``warn_on_impl_args``."""
    return PodiumDeprecationWarning(
        f"{what} is deprecated since plugin API {since} and will be removed in API "
        f"{removal}: {instead}"
    )


@dataclass(frozen=True)
class HookDeprecations:
    """What one hook declares deprecated: the whole hook, and single arguments."""

    hook: Warning | None = None
    arguments: Mapping[str, Warning] = field(default_factory=dict)

    def for_implementation(self, argnames: tuple[str, ...]) -> list[Warning]:
        """The warnings an implementation taking ``argnames`` runs into."""
        found = [self.hook] if self.hook is not None else []
        return found + [self.arguments[name] for name in argnames if name in self.arguments]


def take_declared(pm: pluggy.PluginManager) -> dict[str, HookDeprecations]:
    """The deprecations declared on ``pm``'s hookspecs, removed from the specs.

    Only this manager's own spec objects change (pluggy makes them per manager), so
    pluggy does not also warn anonymously; :func:`warn_for` warns instead.
    """
    declared: dict[str, HookDeprecations] = {}
    for name, caller in vars(pm.hook).items():
        spec = getattr(caller, "spec", None)
        if spec is None or not (spec.warn_on_impl or spec.warn_on_impl_args):
            continue
        declared[name] = HookDeprecations(spec.warn_on_impl, dict(spec.warn_on_impl_args or {}))
        spec.warn_on_impl = None
        spec.warn_on_impl_args = None
    return declared


def warn_for(
    warning: Warning, function: Callable[..., object], plugin: str, distribution: str | None
) -> None:
    """Emit ``warning`` naming the plugin, at the implementing function (as pluggy would)."""
    source = f"plugin {plugin!r}" + (f" ({distribution})" if distribution else "")
    code = getattr(function, "__code__", None)
    if not isinstance(code, types.CodeType):  # a callable object: no file and line to show
        warnings.warn(f"{source}: {warning}", type(warning), stacklevel=3)
        return
    warnings.warn_explicit(
        f"{source}: {warning}",
        type(warning),
        filename=code.co_filename,
        lineno=code.co_firstlineno,
        module=getattr(function, "__module__", None),
    )
