"""A pending intent whose ``read`` fails no longer blocks the environment: commands report
it (node and error) and go on, ``podium state intents`` lists it and ``podium state
resolve NODE --gone|--adopt|--retry`` settles it (issue 14, recoverable journals)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import pytest

DATA = "volume.default#web.data"


def _leave_a_pending_create(project: Any) -> None:
    """Kill ``podium up`` after the fake provisioner created ``data`` but before it is recorded."""
    process = subprocess.Popen(
        [sys.executable, "-m", "podium", "up"],
        cwd=project.root,
        env=project.env(FAKE_PAUSE_AFTER_CREATE="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any((project.world / "dirs" / d / "password").exists() for d in project.dirs()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"up never reached its first create: {process.stderr}")
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    pending = project.podium_json("state", "intents")
    assert [(i["node"], i["action"]) for i in pending] == [(DATA, "create")]


def test_a_failing_read_is_reported_and_resolved_by_adopting(project: Any) -> None:
    _leave_a_pending_create(project)

    # The directory service is down: reconcile cannot tell whether data exists.
    plan = project.podium("--json", "plan", FAKE_READ_FAIL="data")
    assert plan.returncode == 0, plan.stderr
    assert "cannot reach the directory service for data" in plan.stdout
    assert f"podium state resolve {DATA}" in plan.stdout
    still = project.podium_json("state", "intents", FAKE_READ_FAIL="data")
    assert [i["node"] for i in still] == [DATA]
    assert "password" not in str(still)  # no params (nor secrets) shown

    retry = project.podium("state", "resolve", DATA, "--retry", FAKE_READ_FAIL="data")
    assert retry.returncode != 0
    assert "cannot reach the directory service for data" in retry.stderr

    adopted = project.podium("state", "resolve", DATA, "--adopt", FAKE_READ_FAIL="data")
    assert adopted.returncode == 0, adopted.stderr
    assert "adopted" in adopted.stdout
    assert project.podium_json("state", "intents") == []

    project.podium("up", check=True)  # the service is back: data is updated, the rest made
    assert len(project.dirs()) == 2
    replan = project.podium_json("plan")
    assert [c["action"] for c in replan["changes"] if c["kind"] == "resource"] == ["no-op"] * 2


def test_resolve_gone_and_retry(project: Any) -> None:
    _leave_a_pending_create(project)
    gone = project.podium("state", "resolve", DATA, "--gone")
    assert gone.returncode == 0, gone.stderr
    assert project.podium_json("state", "intents") == []
    project.podium("up", check=True)  # created again (the fake's create is idempotent)
    assert len(project.dirs()) == 2

    missing = project.podium("state", "resolve", DATA, "--retry")
    assert missing.returncode != 0
    assert "no pending intent" in missing.stderr
    bare = project.podium("state", "resolve", DATA)
    assert bare.returncode != 0 and "--gone, --adopt or --retry" in bare.stderr


SIZED = """\
apiVersion: score.dev/v1b1
metadata:
  name: sized
containers:
  main:
    image: example/sized:1
resources:
  data:
    type: volume
  box:
    type: sized
    params:
      size: ${resources.data.source}
"""


def test_params_the_model_rejects_are_refused_before_an_intent_is_journaled(
    project: Any,
) -> None:
    """A placeholder passes the plan's check; what it resolves to is checked before the
    intent: no intent is left that reconcile could not read back."""
    config = project.root / "podium.toml"
    config.write_text(
        config.read_text() + '\n[[rules]]\ntype = "sized"\nprovisioner = "fake-sized-dir"\n'
    )
    (project.root / "sized.score.yaml").write_text(SIZED)
    failed = project.podium("up", "-f", "sized.score.yaml")
    assert failed.returncode != 0
    assert "volume.default#sized.data" in failed.stderr or "sized.box" in failed.stderr
    assert "invalid params for fake-sized-dir" in failed.stderr
    assert project.podium_json("state", "intents") == []
    assert [d for d in project.dirs() if "box" in d] == []
