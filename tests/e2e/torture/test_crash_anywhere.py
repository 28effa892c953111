"""Crash anywhere: SIGKILL a real ``podium apply`` at a random moment, then apply again.

Every trial changes the workload (resources come and go, params and edges
change), starts ``podium apply`` as a real process whose provisioner makes real
directories, kills it with SIGKILL after a random delay (during start-up,
planning, mid-apply or after it finished), and applies again in this process.
After each recovery: no intent pending, zero leaked and zero duplicate
resources, every record names a resource that exists and every resource that
exists is recorded, and the state holds exactly the desired resources.

``PODIUM_TORTURE_TRIALS`` and ``PODIUM_TORTURE_SEED`` change the run.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from torture_project import Project, check_state_is_reality, random_resources

TRIALS = int(os.environ.get("PODIUM_TORTURE_TRIALS", "50"))
SEED = int(os.environ.get("PODIUM_TORTURE_SEED", "20261126"))


def test_sigkill_anywhere_leaks_nothing(tmp_path: Path) -> None:
    project = Project(tmp_path)
    rng = random.Random(SEED)
    interrupted = 0  # trials whose kill left a journaled side effect to recover
    for trial in range(TRIALS):
        resources = random_resources(rng)
        path = project.write_workload("app", resources)
        process = project.podium("apply", "--yes", "-p", "4", PODIUM_TORTURE_DELAY="0.03")
        time.sleep(rng.uniform(0.2, 1.5))
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode in (0, -signal.SIGKILL), f"trial {trial}: {stderr}"
        with project.platform() as platform:
            if platform.store("dev").pending_intents():
                interrupted += 1
            _, result = platform.up("dev", [path])
            assert result.ok, f"trial {trial}: {[r.message for r in result.failed]}"
            check_state_is_reality(platform, project.world, set(resources))
            replan = platform.plan("dev", [path])
            assert not replan.has_changes, f"trial {trial}: not converged: {replan.counts}"
    print(f"{TRIALS} trials, {interrupted} killed between a side effect and its record")
    assert interrupted > 0, "no kill landed mid-apply: the trials tested nothing"
