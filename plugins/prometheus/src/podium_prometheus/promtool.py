"""promtool checks every generated file before a Prometheus reads it (fail closed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from podium.plugin import ResourceError


def find(binary: str, what: str) -> str:
    """The binary's path; a clear error when it is not installed."""
    found = shutil.which(binary)
    if found is None:
        raise ResourceError(
            f"{what} {binary!r} is not installed, so the generated configuration cannot be checked",
            hint="apt-get install prometheus (it brings promtool), or set "
            "[plugins.prometheus] promtool/prometheus to the binaries",
        )
    return found


def run(promtool: str, *args: str | Path, cwd: Path) -> None:
    """Run ``promtool ARGS``; a :class:`ResourceError` with its output when it refuses."""
    argv = [find(promtool, "promtool"), *map(str, args)]
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ResourceError(f"promtool {args[0]} {args[1]} did not finish in 120 s") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()
        raise ResourceError(
            f"promtool {' '.join(map(str, args[:2]))} refused the generated files: "
            + " | ".join(output[-12:]),
            hint="this is a podium-prometheus bug or an annotation Prometheus cannot use",
        )
