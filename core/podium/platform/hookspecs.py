"""Platform hooks: lifecycle, state backends, CLI commands and workload templates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from podium.platform.context import PlatformInfo
from podium.platform.contract import CliCommand, StateBackend, WorkloadTemplate
from podium.plugins.markers import hookspec

if TYPE_CHECKING:
    from podium.api import Platform


@hookspec
def podium_state_backends(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[StateBackend]:
    """Register state backends (registration hook); ``[state] backend`` selects one.

    Example::

        class MemoryBackend(StateBackend):
            name = "memory"

            def open(self, env, options):
                return MemoryStateStore()

        @hookimpl
        def podium_state_backends():
            return [MemoryBackend()]
    """


@hookspec
def podium_cli_commands(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[CliCommand]:
    """Add commands to the ``podium`` CLI (registration hook).

    Example::

        import click

        @click.command("hello")
        def hello():
            click.echo("hello from my plugin")

        @hookimpl
        def podium_cli_commands():
            return [CliCommand(name="hello", command=hello, help="Say hello")]
    """


@hookspec
def podium_workload_templates(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[WorkloadTemplate]:
    """Offer workload templates, the platform's golden paths (registration hook; plugin API 1.3).

    ``podium new --list`` shows them, ``podium new NAME DIR`` scaffolds a service from one
    (a git repository with its Score file, app, pipeline and README) and
    ``podium template update`` brings a later version of it into the service with
    copier's three-way merge. Each version is a copier template shipped as package data
    (see :class:`~podium.platform.contract.WorkloadTemplate`).

    Example::

        from importlib import resources

        from podium.plugin import WorkloadTemplate, hookimpl

        @hookimpl
        def podium_workload_templates():
            root = resources.files(__package__) / "templates"
            return [
                WorkloadTemplate(
                    name="python-web",
                    source=root / "python-web",
                    description="HTTP service with a PostgreSQL database",
                )
            ]
    """


@hookspec
def podium_platform_started(platform: Platform) -> None:
    """Called once when a :class:`~podium.Platform` has loaded its plugins (broadcast hook).

    Example::

        @hookimpl
        def podium_platform_started(platform):
            log.info("platform ready", name=platform.name)
    """


@hookspec
def podium_platform_closing(platform: Platform) -> None:
    """Called when a platform is closed: flush buffers and close connections (broadcast hook).

    Example::

        @hookimpl
        def podium_platform_closing(platform):
            client.close()
    """
