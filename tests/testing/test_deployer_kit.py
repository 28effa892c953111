"""The deployer kits: a correct sample deployer passes, and each of 21 planted bugs is caught."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from deployer_samples import BUGS, BackgroundDeployer

from podium.testing import deploy_fixture
from podium.testing._deploy_records import FixtureRecords, wait_until
from podium.testing.conformance import ProcessDeployerConformance


class TestBackgroundDeployer(ProcessDeployerConformance):
    @pytest.fixture
    def deployer(self) -> BackgroundDeployer:
        return BackgroundDeployer()

    @pytest.fixture
    def stop_timeout(self) -> float:
        return 1.0


KIT_TEST = """
import pytest
from deployer_samples import BackgroundDeployer
from podium.testing.conformance import ProcessDeployerConformance


class TestSample(ProcessDeployerConformance):
    @pytest.fixture
    def deployer(self):
        return BackgroundDeployer({{{bug!r}}})

    @pytest.fixture
    def stop_timeout(self):
        return 1.0

    @pytest.fixture
    def kit_temp_dir(self):
        return Path({temp!r})
"""


@dataclass(frozen=True)
class Planted:
    bug: str
    check: str  #: the kit's test that must fail
    rule: str
    says: str  #: what the failure must say was observed

    def __str__(self) -> str:
        return f"{BUGS[self.bug]:02d}-{self.bug}"


PLANTED = [
    Planted(
        "destroy_leaves_processes",
        "test_destroy_stops_every_process",
        "destroy-stops-processes",
        "s after destroy returned, still running: pid",
    ),
    Planted(
        "destroy_forgets_processes",
        "test_destroy_stops_every_process",
        "destroy-stops-processes",
        "s after destroy returned, still running: pid",
    ),
    Planted(
        "status_trusts_pid_files",
        "test_status_matches_the_processes",
        "ready-means-running",
        "status after every process was killed is 'ready', but no process of",
    ),
    Planted(
        "dead_reported_absent",
        "test_status_matches_the_processes",
        "deployed-is-never-absent",
        "status after every process was killed is 'absent'",
    ),
    Planted(
        "destroyed_reported_down",
        "test_destroy_then_status_is_absent",
        "destroy-removes-the-workload",
        "status after destroy is 'down'",
    ),
    Planted(
        "destroy_of_nothing_raises",
        "test_destroy_of_nothing_succeeds",
        "destroy-of-nothing-succeeds",
        "destroy() of a workload never deployed raised NotFoundError",
    ),
    Planted(
        "deploy_not_idempotent",
        "test_deploy_twice_runs_one_process_per_container",
        "deploy-is-idempotent",
        "container 'web' has 2 running processes",
    ),
    Planted(
        "old_release_left_running",
        "test_new_release_replaces_the_old",
        "new-release-replaces-the-old",
        "(release 1), pid",
    ),
    Planted(
        "no_start_check",
        "test_deploy_fails_when_a_process_cannot_start",
        "deploy-checks-processes-started",
        "deploy returned success, but container 'broken' exits at once (exit codes: 3)",
    ),
    Planted(
        "ignores_readiness",
        "test_deploy_waits_for_readiness",
        "deploy-waits-for-readiness",
        "deploy returned while container 'slow' was not ready",
    ),
    Planted(
        "ignores_before",
        "test_before_order_is_respected",
        "before-order-respected",
        "app started",
    ),
    Planted(
        "pid_files_at_end",
        "test_interrupted_deploy_converges",
        "interrupted-deploy-converges",
        "container 'first' has 2 running processes",
    ),
    Planted(
        "term_without_kill",
        "test_stop_escalates_to_kill",
        "stop-escalates-to-kill",
        "signals noted: SIGTERM) still runs",
    ),
    Planted(
        "logs_ignore_container",
        "test_logs_filter_by_container",
        "logs-container-filter",
        "of them from container 'worker'",
    ),
    Planted(
        "logs_ignore_tail",
        "test_logs_tail",
        "logs-tail",
        "logs(container='web', tail=2) yielded 5 lines",
    ),
    Planted(
        "logs_ignore_follow",
        "test_logs_follow",
        "logs-follow",
        "it ended after the lines already printed",
    ),
    Planted(
        "rollback_is_a_noop",
        "test_rollback_restores_the_processes",
        "rollback-restores-the-release",
        "(release 2)",
    ),
    Planted(
        "secrets_written_to_disk",
        "test_secret_variables_reach_only_the_process",
        "secrets-never-on-disk",
        "the secret variable's value is in ",
    ),
    Planted(
        "secrets_in_outputs",
        "test_secrets_stay_out_of_outputs",
        "secrets-never-in-outputs",
        "the secret variable's value shows in deploy's result['outputs']['environment']",
    ),
    Planted(
        "drops_secret_variables",
        "test_secret_variables_reach_only_the_process",
        "secret-variables-reach-the-process",
        "KIT_SECRET is missing from the environment of container",
    ),
    Planted(
        "passes_podium_variables",
        "test_operator_podium_variables_stay_out",
        "no-operator-podium-variables",
        "got PODIUM_KIT_CANARY, PODIUM_STATE_KEY from the environment podium runs in",
    ),
]


def fixture_processes(marker: str) -> list[str]:
    """Command lines of running processes that mention ``marker`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        text = " ".join(a.decode(errors="replace") for a in argv)
        if marker in text and state != "Z":
            found.append(f"{entry.name}: {text}")
    return found


def test_every_planted_bug_is_listed() -> None:
    assert sorted(BUGS.values()) == list(range(1, 22))
    assert sorted(p.bug for p in PLANTED) == sorted(BUGS)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes in /proc")
@pytest.mark.parametrize("planted", PLANTED, ids=str)
def test_the_kit_catches_the_planted_bug(pytester: pytest.Pytester, planted: Planted) -> None:
    temp = pytester.path / "kit-temp"
    temp.mkdir()
    pytester.makepyfile(
        test_sample="from pathlib import Path\n" + KIT_TEST.format(bug=planted.bug, temp=str(temp))
    )
    result = pytester.runpytest("-rf", "-p", "no:cacheprovider", "-k", planted.check)
    output = result.stdout.str() + result.stderr.str()
    assert f"FAILED test_sample.py::TestSample::{planted.check}" in output, output
    assert f"contract rule '{planted.rule}' is broken" in output, output
    assert "  the contract: " in output and "  what happened: " in output, output
    assert planted.says in output, output
    assert "kit-secret-" not in output, "a secret value was printed:\n" + output
    # Whatever failed, the kit stopped every process it made and removed its directory.
    assert not fixture_processes(str(temp)), fixture_processes(str(temp))
    assert not list(temp.iterdir())


def test_the_fixture_program_records_what_happens_to_it(tmp_path: Path) -> None:
    """Start, environment digests, readiness, signals and exit, as the kit reads them."""
    records = FixtureRecords(tmp_path / "records")
    probe = [sys.executable, deploy_fixture.__file__, "probe", "--records", str(records.root)]
    argv = [sys.executable, deploy_fixture.__file__, "run", "--records", str(records.root)]
    argv += ["--container", "web", "--ready-after", "0.5", "--ignore-term", "--show", "KIT_PLAIN"]
    env = {**os.environ, "KIT_PLAIN": "plain", "KIT_SECRET": "do-not-write-me"}
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "kit-log web line 1\n"
        (process,) = records.processes("web")
        assert process.pid == child.pid and process.running()
        digests = process.env_digests()
        assert digests["KIT_SECRET"] == deploy_fixture.digest("do-not-write-me")
        assert process.start() is not None and process.start()["shown"] == {"KIT_PLAIN": "plain"}
        written = b"".join(p.read_bytes() for p in records.root.rglob("*") if p.is_file())
        assert b"do-not-write-me" not in written
        assert wait_until(lambda: process.ready_at() is not None, 10)
        assert subprocess.run([*probe, "--container", "web"], check=False).returncode == 0
        assert subprocess.run([*probe, "--container", "db"], check=False).returncode == 1
        process.send(signal.SIGUSR1)
        lines = [child.stdout.readline() for _ in range(5)]
        assert lines[-1] == "kit-log web poke 1\n"
        process.send(signal.SIGTERM)  # noted, and ignored
        assert wait_until(lambda: "SIGTERM" in process.signals(), 10)
        assert process.running()
    finally:
        child.kill()
        child.wait()
    assert not process.running()
    assert subprocess.run([*probe, "--container", "web"], check=False).returncode == 1
