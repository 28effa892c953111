"""What a test does when a server or binary it needs is missing: skip, or fail in CI.

On a developer's machine a missing PostgreSQL or Podman is a reason to skip the
tests that run it. In CI (the ``CI`` variable set, as CI services set it) the
pipeline installs them, so missing there means the pipeline is broken: the
test fails instead of skipping silently past what it was meant to check::

    from podium.testing import require

    def test_the_cluster_starts():
        require("initdb", "pg_ctl", search=["/usr/lib/postgresql/15/bin"])
        ...
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NoReturn

import pytest


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the tests run in CI: ``CI`` is set (and not empty) in ``environ``."""
    return bool((os.environ if environ is None else environ).get("CI"))


def unavailable(reason: str, *, environ: Mapping[str, str] | None = None) -> NoReturn:
    """Stop the test, which needs what ``reason`` says is missing.

    It is skipped with ``reason``, or failed under CI (see :func:`in_ci`).
    """
    if in_ci(environ):
        pytest.fail(f"{reason}, and CI must run this test", pytrace=False)
    pytest.skip(reason)


def require(
    *binaries: str,
    search: Iterable[str | Path] = (),
    environ: Mapping[str, str] | None = None,
) -> None:
    """Make sure each of ``binaries`` is installed, or stop the test (:func:`unavailable`).

    A binary is found on ``PATH`` or in one of the ``search`` directories (for
    binaries packaged off ``PATH``, like PostgreSQL's ``initdb``). The first one
    missing is named in the skip or failure.
    """
    extra = os.pathsep.join(str(directory) for directory in search)
    for binary in binaries:
        if shutil.which(binary) or (extra and shutil.which(binary, path=extra)):
            continue
        unavailable(f"{binary} is not installed", environ=environ)


__all__ = ["in_ci", "require", "unavailable"]
