"""Test-only hookspecs that declare deprecations the way the core's own will: pluggy's options."""

from __future__ import annotations

from podium.plugins.deprecations import deprecated
from podium.plugins.markers import hookspec


@hookspec(
    warn_on_impl_args={
        "legacy": deprecated(
            "argument 'legacy' of podium_test_hook", since="1.1", removal="2.0", instead="use 'new'"
        )
    }
)
def podium_test_hook(new: str, legacy: str) -> None:
    """A broadcast hook whose ``legacy`` argument is deprecated."""


@hookspec(
    warn_on_impl=deprecated(
        "hook podium_test_gone", since="1.1", removal="2.0", instead="implement podium_test_hook"
    )
)
def podium_test_gone() -> None:
    """A broadcast hook deprecated as a whole."""
