"""The day-2 CLI rules through the real ``podium`` in subprocesses (issue 13, "Consistent
CLI"): hints that carry the flags needed, one confirmation policy, a live progress line."""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

from podium.api import Platform
from podium.platform.contract import LockInfo


def _hold_lock(project: Any, env: str) -> Platform:
    """A live lease on ``env`` held by this (test) process, as a concurrent run would."""
    platform = Platform.from_file(project.root / "podium.toml", load_entrypoints=False)
    now = time.time()
    platform.store(env).acquire_lock(
        LockInfo(
            owner="alice@example",
            host=socket.gethostname(),
            pid=os.getpid(),
            run_id=uuid.uuid4().hex,
            acquired_at=now,
            expires_at=now + 600,
        )
    )
    return platform


def test_the_lock_hint_names_the_environment_and_config(project: Any) -> None:
    platform = _hold_lock(project, "prod")
    try:
        locked = project.podium("up", "-e", "prod")
        assert locked.returncode == 7, locked.stderr
        assert "'podium state unlock -e prod'" in locked.stderr
        (project.root / "podium.toml").rename(project.root / "ci.toml")
        elsewhere = project.podium("-c", "ci.toml", "-e", "prod", "up")
        assert elsewhere.returncode == 7, elsewhere.stderr
        assert "'podium -c ci.toml state unlock -e prod'" in elsewhere.stderr
    finally:
        platform.close()
