"""Releases remember which platform secrets they were rendered with, so a rollback
never brings back a rotated (revoked) value.

A release records, sealed with it, each platform secret its workload received: key,
scope, version and the value it was rendered with. Rolling back to it swaps every
value that has been rotated since for the value the environment sees now; a secret
deleted since makes the rollback fail (deleting is how a key is revoked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podium.engine.secret_versions import SPEC_KEY, secret_key
from podium.errors import NotFoundError
from podium.security.env_secrets import EnvironmentSecrets
from podium.security.secret import Secret

#: The sealed release key listing the platform secrets it was rendered with.
RELEASE_KEY = "platform_secrets"


def secrets_used(
    resources: Mapping[str, Mapping[str, Any]], outputs_of: Callable[[str], Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The platform secrets among a workload's resources (``uid -> node spec``)."""
    used: list[dict[str, Any]] = []
    for uid, spec in sorted(resources.items()):
        key = secret_key(spec)
        value = outputs_of(uid).get("value")
        if key is None or not isinstance(value, Secret):
            continue
        stamp = spec.get(SPEC_KEY) or {}
        used.append(
            {
                "key": key,
                "scope": stamp.get("scope"),
                "version": stamp.get("version"),
                "value": value,
            }
        )
    return used


def with_current_secrets(
    release: dict[str, Any], secrets: EnvironmentSecrets | None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """``release`` (unsealed) without its secrets list, rotated values replaced by the
    current ones; the secrets list for the release that redeploys it; and the keys
    rotated since. When some were, the deployer must deploy the release's workload
    again rather than reuse what it made then (an ECS task definition pins the old
    secret version, for one)."""
    data = dict(release)
    used = data.pop(RELEASE_KEY, None) or []
    if not used or secrets is None:
        return data, list(used), []
    current: list[dict[str, Any]] = []
    rotated: list[str] = []
    workload = data["workload"]
    for entry in used:
        key = str(entry["key"])
        now = secrets.resolve(key)
        if now is None:
            raise NotFoundError(
                f"release {data.get('number')} used secret {key!r}, which has been deleted "
                "since; a rollback never brings back a revoked secret",
                hint=f"set a new value with 'podium secrets set {key}' and roll back again",
            )
        old = entry.get("value")
        value = secrets.get(key)
        if isinstance(old, Secret) and old != value:
            rotated.append(key)
            if old.reveal():
                workload = _swap(workload, old.reveal(), value.reveal())
        current.append({"key": key, "scope": now.scope, "version": now.version, "value": value})
    data["workload"] = workload
    return data, current, rotated


def _swap(value: Any, old: str, new: str) -> Any:
    """``value`` with ``old`` replaced by ``new`` inside every Secret (only secrets can
    hold a secret's value: rendering makes any string containing one a Secret)."""
    if isinstance(value, Secret):
        text = value.reveal()
        return Secret(text.replace(old, new)) if old in text else value
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return value
