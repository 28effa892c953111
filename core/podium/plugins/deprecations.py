"""Every deprecation in the plugin API, in one place.

When a hook argument or a hook is deprecated, add it here; the manager warns
once per plugin that still uses it, naming the plugin and its distribution, so
the author sees it in their test run (``-W error::DeprecationWarning`` fails it).
"""

from __future__ import annotations

from dataclasses import dataclass


class PodiumDeprecationWarning(DeprecationWarning):
    """A plugin uses something that will be removed in a later API version."""


@dataclass(frozen=True)
class Deprecation:
    hook: str
    argument: str | None  #: ``None``: the whole hook is deprecated
    since: str  #: API version that deprecated it
    message: str  #: what to do instead


#: Deprecated hooks and hook arguments. Empty while API 1.x has removed nothing.
DEPRECATIONS: list[Deprecation] = []


def deprecations_for(hook: str, argnames: tuple[str, ...]) -> list[Deprecation]:
    """The deprecations a hook implementation with these argument names runs into."""
    return [
        d for d in DEPRECATIONS if d.hook == hook and (d.argument is None or d.argument in argnames)
    ]


def warn_on_impl_args(hook: str) -> dict[str, PodiumDeprecationWarning]:
    """Warnings for ``pluggy``'s ``HookspecMarker(warn_on_impl_args=...)`` on ``hook``.

    A hookspec module may pass this when declaring a spec; the manager's own
    check (:func:`deprecations_for`) covers specs declared without it.
    """
    return {
        d.argument: PodiumDeprecationWarning(_text(d))
        for d in DEPRECATIONS
        if d.hook == hook and d.argument is not None
    }


def message_for(deprecation: Deprecation, plugin: str, distribution: str | None) -> str:
    source = f"plugin {plugin!r}" + (f" ({distribution})" if distribution else "")
    return f"{source}: {_text(deprecation)}"


def _text(d: Deprecation) -> str:
    what = f"argument {d.argument!r} of {d.hook}" if d.argument else f"hook {d.hook}"
    return f"{what} is deprecated since plugin API {d.since}: {d.message}"
