"""The pytest fixtures podium.testing gives plugin authors."""

from __future__ import annotations

from typing import Any

from podium import hookimpl
from podium.platform.context import EnvironmentInfo
from podium.security.secret import Secret


def test_podium_env_is_in_tmp_path(podium_env: EnvironmentInfo, tmp_path: Any) -> None:
    assert podium_env.state_dir.is_dir()
    assert tmp_path in podium_env.state_dir.parents
    assert podium_env.physical_name("volume.default#web.data").startswith("test-dev-")


def test_resource_context_generated_secrets_are_stable(podium_resource_context: Any) -> None:
    from kit_samples import DirectoryProvisioner

    provisioner = DirectoryProvisioner()
    first = podium_resource_context(provisioner, name="data", params={"size": 3})
    again = podium_resource_context(provisioner, name="data")
    other = podium_resource_context(provisioner, name="other")
    assert first.uid == "volume.default#web.data"
    assert first.params == {"size": 3}
    assert first.physical_name == again.physical_name
    password = first.generate_secret("password")
    assert isinstance(password, Secret)
    assert again.generate_secret("password") == password
    assert other.generate_secret("password") != password
    shared = podium_resource_context(provisioner, id="shared-bucket")
    assert shared.uid == "volume.default#shared-bucket" and shared.workload is None


def test_podium_platform_runs_in_process_plugins(podium_platform: Any, podium_events: list) -> None:
    seen: list[str] = []

    class Watcher:
        PODIUM_API = ">=1.0,<2"

        @hookimpl
        def podium_platform_started(self, platform: Any) -> None:
            seen.append(platform.name)

    platform = podium_platform(
        plugins=[("watcher", Watcher())], config={"platform": {"name": "kit"}}
    )
    assert platform.name == "kit"
    assert seen == ["kit"]
    plugins = {p.name: p for p in platform.plugins.plugins}
    assert plugins["watcher"].status == "loaded"
    assert all(p.source != "entry-point" or p.status == "disabled" for p in plugins.values())
    assert podium_events == [] or all(hasattr(e, "kind") for e in podium_events)
