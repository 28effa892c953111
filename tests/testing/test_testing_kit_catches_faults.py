"""The kit fails a provisioner that breaks the contract (run in a real pytest subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

BROKEN_TEST = """
import pytest
from kit_samples import LeakyProvisioner
from podium.testing.conformance import ProvisionerConformance


class TestLeaky(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self):
        return LeakyProvisioner()
"""


def test_conformance_kit_fails_a_broken_provisioner(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(BROKEN_TEST)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", "test_leaky.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    failed = set(re.findall(r"FAILED test_leaky.py::TestLeaky::(\w+)", output))
    assert failed == {
        "test_create_twice_is_idempotent",
        "test_read_of_missing_resource_is_none",
        "test_delete_then_read_is_none",
        "test_secret_outputs_are_secret",
    }, output
    # The messages tell the author what to fix.
    assert "a second create of the same resource returned other outputs" in output
    assert "look secret but are plain str" in output
    assert re.search(r"(\d+) passed", output), output
    assert "SKIPPED" in output and "provoke_error" in output
