"""Readiness and liveness probes in the launcher spec's format, run by the core's helpers.

Probes are plain dicts so that the deployer (readiness, status) and the
launcher (liveness, inside the supervised process tree) share one format:
``{"http": {"url": ..., "headers": {...}}}`` or ``{"exec": [argv...], "run_as": ...}``.
The probing itself is :func:`podium.plugin.probe_http` and :func:`podium.plugin.probe_exec`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from podium.plugin import probe_exec, probe_http


def run_probe(
    probe: Mapping[str, Any],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> tuple[bool, str]:
    """Run one probe attempt; the message says what was checked and what went wrong."""
    if "http" in probe:
        spec = probe["http"]
        result = probe_http(str(spec["url"]), timeout=timeout, headers=spec.get("headers"))
        return result.ok, result.message
    if "exec" in probe:
        # The command is the workload's: as root, run it as the workload's user (the
        # child enters ``cwd`` before it drops privileges, like the launcher). The
        # launcher runs liveness probes as that user already.
        run_as = probe.get("run_as")
        who: dict[str, int] = {}
        if run_as and os.geteuid() == 0:
            who = {"user": int(run_as["uid"]), "group": int(run_as["gid"])}
        result = probe_exec(list(probe["exec"]), timeout=timeout, env=env, cwd=cwd, **who)
        return result.ok, result.message
    return True, "no probe"
