"""Pytest fixtures for testing Podium plugins (loaded automatically via ``pytest11``).

Everything heavy is imported inside the fixtures: this module is imported by
every pytest run in an environment where Podium is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.observability.contract import Event
    from podium.platform.context import EnvironmentInfo
    from podium.provisioning.contract import Provisioner, ResourceContext


class SecretMemory:
    """Generated secrets by (resource uid, key): a retry gets the value created first.

    It plays the role the state store's generated-value journal plays in a real apply.
    """

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}

    def generator(self, uid: str) -> Callable[[str, Callable[[], str]], Any]:
        from podium.security.secret import Secret

        def generate(key: str, factory: Callable[[], str]) -> Secret:
            found = self.values.get((uid, key))
            if found is None:
                found = Secret(factory())
                self.values[(uid, key)] = found
            return found

        return generate


class ResourceContextFactory:
    """``podium_resource_context(provisioner, params={...})`` -> a ResourceContext."""

    def __init__(self, env: EnvironmentInfo, secrets: SecretMemory) -> None:
        self.env = env
        self.secrets = secrets

    def __call__(
        self,
        provisioner: Provisioner | None = None,
        *,
        resource_type: str | None = None,
        resource_class: str = "default",
        workload: str | None = "web",
        name: str = "res",
        id: str | None = None,
        params: Mapping[str, Any] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> ResourceContext:
        from podium.provisioning.contract import ResourceContext

        rtype = resource_type or (provisioner.resource_type if provisioner else "resource")
        uid = (
            f"{rtype}.{resource_class}#{id}"
            if id
            else f"{rtype}.{resource_class}#{workload}.{name}"
        )
        return ResourceContext(
            uid=uid,
            type=rtype,
            resource_class=resource_class,
            id=id,
            workload=None if id else workload,
            params=dict(params or {}),
            physical_name=self.env.physical_name(uid),
            env=self.env,
            annotations=dict(annotations or {}),
            _generator=self.secrets.generator(uid),
        )


@pytest.fixture
def podium_env(tmp_path: Path) -> EnvironmentInfo:
    """An EnvironmentInfo (platform ``test``, env ``dev``) with its state dir in tmp_path."""
    from podium.platform.context import EnvironmentInfo

    state_dir = tmp_path / "podium-state" / "dev"
    state_dir.mkdir(parents=True)
    return EnvironmentInfo(platform="test", environment="dev", state_dir=state_dir)


@pytest.fixture
def podium_resource_context(podium_env: EnvironmentInfo) -> ResourceContextFactory:
    """Factory of ResourceContexts whose generated secrets are stable across calls."""
    return ResourceContextFactory(podium_env, SecretMemory())


@pytest.fixture
def podium_events() -> list[Event]:
    """A list that collects events: pass ``podium_events.append`` as ``on_event``."""
    return []


@pytest.fixture
def podium_platform(
    tmp_path: Path, podium_events: list[Event]
) -> Iterator[Callable[..., Platform]]:
    """Factory: ``podium_platform(plugins=[my_plugin], config={...})`` -> a Platform in tmp_path.

    Installed plugins are not loaded (only the ones given), events go to
    ``podium_events``, and every platform made is closed after the test.
    """
    made: list[Platform] = []

    def make(
        plugins: Sequence[object | tuple[str, object]] = (),
        config: Mapping[str, Any] | None = None,
        *,
        load_entrypoints: bool = False,
        strict_plugins: bool | None = True,
        **kwargs: Any,
    ) -> Platform:
        from podium.api import Platform

        platform = Platform(
            dict(config or {}),
            root=tmp_path,
            plugins=plugins,
            load_entrypoints=load_entrypoints,
            strict_plugins=strict_plugins,
            on_event=podium_events.append,
            **kwargs,
        )
        made.append(platform)
        return platform

    yield make
    for platform in made:
        platform.close()
