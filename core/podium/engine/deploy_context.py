"""Build the :class:`~podium.deployment.contract.DeployContext` a deployer call receives.

One place for what the core tells a deployer beyond the workload and release: the
release recorded as running and its outputs (from the deployment record, so no extra
state read), the deadline of the engine's per-call timeout, the run's cancel signal
and a logger bound to the deployer's plugin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from podium.deployment.contract import (
    CancelSignal,
    DeployContext,
    ManifestPatcher,
    RenderedWorkload,
    deployer_logger,
)
from podium.platform.context import EnvironmentInfo
from podium.security.crypto import is_sealed


def deploy_context(
    registered: Any,
    workload: str,
    env: EnvironmentInfo,
    *,
    release: int = 1,
    recorded_outputs: Mapping[str, Any] | None = None,
    stop: threading.Event | None = None,
    timeout: float | None = None,
    plugins: Any = None,
    owner: str | None = None,
) -> DeployContext:
    """The context for one call of ``registered``'s deployer (a plugin-manager registration).

    ``recorded_outputs`` are the deployment record's outputs as stored (sealed):
    they are the outputs of the release recorded as running, and carry its number.
    ``plugins`` (the plugin manager) and ``owner`` bind ``podium_patch_manifests``.
    """
    outputs = _without_secrets(recorded_outputs or {})
    previous = outputs.get("release")
    patching: dict[str, Any] = {}
    if plugins is not None:
        patching["patch_manifests"] = manifest_patcher(plugins, env, owner, registered.name)
    return DeployContext(
        workload=workload,
        env=env,
        release=release,
        previous_release=previous if isinstance(previous, int) else None,
        previous_outputs=outputs,
        deadline=None if timeout is None else time.monotonic() + timeout,
        cancel=CancelSignal(stop),
        logger=deployer_logger(registered.plugin.name, registered.name),
        owner=owner,
        **patching,
    )


def manifest_patcher(
    plugins: Any, env: EnvironmentInfo, owner: str | None, deployer: str
) -> ManifestPatcher:
    """Run every plugin's ``podium_patch_manifests`` on one workload's objects, in place."""

    def patch(workload: RenderedWorkload, objects: list[dict[str, Any]]) -> None:
        plugins.broadcast(
            "podium_patch_manifests",
            workload=workload,
            objects=objects,
            env=env,
            owner=owner,
            deployer=deployer,
        )

    return patch


def _without_secrets(value: Any) -> Any:
    """Recorded outputs minus sealed values: a deployer's outputs hold no secrets, and
    reading them needs no key (``status`` and ``logs`` never did)."""
    if isinstance(value, Mapping):
        return {k: _without_secrets(v) for k, v in value.items() if not is_sealed(v)}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value if not is_sealed(v)]
    return value
