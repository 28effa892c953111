"""Readiness and liveness probes: an HTTP GET or a command, each answering (ok, message).

Probes are plain dicts so that the deployer (readiness, status) and the
launcher (liveness, inside the supervised process tree) share one format:
``{"http": {"url": ..., "headers": {...}}}`` or ``{"exec": [argv...]}``.
"""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def run_probe(
    probe: Mapping[str, Any],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> tuple[bool, str]:
    """Run one probe attempt; the message says what was checked and what went wrong."""
    if "http" in probe:
        return _http(probe["http"], timeout)
    if "exec" in probe:
        return _exec(list(probe["exec"]), timeout, env, cwd, probe.get("run_as"))
    return True, "no probe"


def _http(spec: Mapping[str, Any], timeout: float) -> tuple[bool, str]:
    url = str(spec["url"])
    request = urllib.request.Request(url, headers=dict(spec.get("headers") or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"HTTP GET {url} failed: {reason}"
    # Like Kubernetes: any 2xx or 3xx status is healthy.
    if 200 <= status < 400:
        return True, f"HTTP GET {url} returned {status}"
    return False, f"HTTP GET {url} returned {status}"


def _exec(
    argv: list[str],
    timeout: float,
    env: Mapping[str, str] | None,
    cwd: str | None,
    run_as: Mapping[str, Any] | None = None,
) -> tuple[bool, str]:
    shown = " ".join(argv)
    # The command is the workload's: as root, run it as the workload's user (the
    # child enters ``cwd`` before it drops privileges, like the launcher).
    who: dict[str, Any] = {}
    if run_as and os.geteuid() == 0:  # (the launcher runs liveness probes as the user already)
        who = {"user": int(run_as["uid"]), "group": int(run_as["gid"]), "extra_groups": []}
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            check=False,
            **who,
        )
    except FileNotFoundError:
        return False, f"probe command {shown!r}: {argv[0]} not found"
    except PermissionError:
        return False, f"probe command {shown!r}: permission denied"
    except subprocess.TimeoutExpired:
        return False, f"probe command {shown!r} timed out after {timeout:g}s"
    if done.returncode == 0:
        return True, f"probe command {shown!r} succeeded"
    output = (done.stderr or done.stdout).strip().splitlines()[-3:]
    detail = (": " + " | ".join(output)) if output else ""
    return False, f"probe command {shown!r} exited {done.returncode}{detail}"
