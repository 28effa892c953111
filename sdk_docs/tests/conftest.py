"""Build the site once per test session, exactly as ``tox -e docs`` does (``--strict``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SDK_DOCS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SDK_DOCS / "hooks"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site; the build itself fails the tests on any warning."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-q",
            "-f",
            str(SDK_DOCS / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=SDK_DOCS.parent,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out
