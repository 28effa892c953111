"""The kit for deployers that run processes on this machine: answers checked against reality.

Re-exported by :mod:`podium.testing.conformance`. Every check deploys workloads of
the fixture program (:mod:`podium.testing.deploy_fixture`), whose processes write
down when they started, their environment (as digests), when they became ready,
the signals they got and when they ended. So the kit sees what really runs: a
status that says ``ready`` over a dead process, a destroy that leaves processes
behind, a second deploy that starts a second copy, ``before`` ignored, a secret
written to disk, a TERM never followed by a KILL.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from podium.errors import ResourceError, TransientError
from podium.testing import deploy_fixture as program
from podium.testing._deploy_records import RecordedProcess, wait_until
from podium.testing._process_helpers import Following, deploy_killed_midway, files_holding
from podium.testing._report import broken, call, expect
from podium.testing.deployer_kit import DeployerConformance, KitRun

if TYPE_CHECKING:
    from podium.deployment.contract import DeployContext, DeploymentResult, RenderedWorkload
    from podium.platform.context import EnvironmentInfo

#: How many lines each fixture process prints when it starts (``kit-log <c> line <n>``).
LOG_LINES = 5
#: Seconds the kit waits for something a correct deployer does at once (a log line to
#: show, a killed process to vanish): generous, as the machine may be busy.
PATIENCE = 20.0


def _printed(container: str, what: str = f"line {LOG_LINES}") -> str:
    return f"{program.LOG_PREFIX} {container} {what}"


def _shown(processes: list[RecordedProcess]) -> str:
    return ", ".join(p.describe() for p in processes) or "none"


class ProcessDeployerConformance(DeployerConformance):
    """The :class:`~podium.deployment.Deployer` contract, checked against the real processes.

    For deployers that run a workload's containers as processes on this machine
    (directly, under a supervisor, or in containers whose processes the kit can see
    and signal). Provide ``deployer``; the checks of :class:`DeployerConformance`
    run too. Optional fixtures, besides that kit's:

    * ``stop_timeout``: the seconds your deployer waits between TERM and KILL
      (default 10); configure it short in the test, the kit waits that long plus a
      margin for stopped processes to go;
    * ``deployer_state_dirs``: directories your deployer writes to, searched for
      secret values (default: the environment's state directory).
    """

    @pytest.fixture
    def stop_timeout(self) -> float:
        return 10.0

    @pytest.fixture
    def deployer_state_dirs(self, podium_env: EnvironmentInfo) -> list[Path]:
        return [Path(podium_env.state_dir)]

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _pair(kit: KitRun, release: int = 1) -> RenderedWorkload:
        return kit.workloads.workload(
            "pair",
            kit.workloads.container("web", release=release),
            kit.workloads.container("worker", release=release),
        )

    @staticmethod
    def _deploy(
        kit: KitRun,
        ctx: DeployContext,
        workload: RenderedWorkload,
        jobs: frozenset[str] = frozenset(),
    ) -> DeploymentResult:
        """Deploy, and check every container (but ``jobs``) has a running process after."""
        result = kit.deploy(ctx, workload)
        idle: list[str] = []

        def settled() -> bool:
            """Every process runs, or each missing one ran and ended (it is not starting)."""
            expected = [name for name in workload.containers if name not in jobs]
            idle[:] = [name for name in expected if not kit.records.running(name)]
            return all(kit.records.processes(name) for name in idle)

        # A process the deployer started may still be loading Python: give it time to
        # write its records before calling it missing.
        wait_until(settled, PATIENCE)
        if idle:
            ended = {name: [p.exit() for p in kit.records.processes(name)] for name in idle}
            detail = "; ".join(
                f"container {name!r}: "
                + (
                    "never started"
                    if not exits
                    else "exited" + "".join(f" with code {e['code']}" for e in exits if e)
                )
                for name, exits in ended.items()
            )
            broken(
                "deploy-checks-processes-started",
                "deploy succeeds only when every container's process really runs",
                f"deploy of release {ctx.release} returned success, but {detail}",
            )
        return result

    @staticmethod
    def _one_each(
        kit: KitRun, workload: RenderedWorkload, rule: str, requires: str, when: str, release: int
    ) -> None:
        problems = []
        for name in workload.containers:
            running = kit.records.running(name)
            wrong = [p for p in running if p.release != str(release)]
            if len(running) != 1 or wrong:
                problems.append(
                    f"container {name!r} has {len(running)} running processes: {_shown(running)}"
                )
        expect(
            not problems,
            rule,
            requires,
            f"after {when}, expected one process of release {release} per container: "
            + "; ".join(problems),
        )

    @staticmethod
    def _wait_for_output(kit: KitRun, ctx: DeployContext, containers: list[str]) -> None:
        wanted = [_printed(name) for name in containers]
        missing: list[str] = list(wanted)

        def shown() -> bool:
            lines = call("list(logs())", lambda: list(kit.deployer.logs(ctx)))
            texts = [getattr(line, "text", "") for line in lines]
            missing[:] = [w for w in wanted if not any(w in text for text in texts)]
            return not missing

        expect(
            wait_until(shown, PATIENCE, every=0.3),
            "logs-show-output",
            "logs yields what the workload's processes printed",
            f"{PATIENCE:g} s after deploy, logs() still lacks {', '.join(map(repr, missing))}",
        )

    # ------------------------------------------------------------- status, destroy
    def test_status_matches_the_processes(self, kit: KitRun) -> None:
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        status = kit.status(ctx, "after deploy")
        expect(
            status.state == "ready",
            "status-matches-the-processes",
            "after a successful deploy (every process running and ready) status is 'ready'",
            f"status is {status.state!r} ({status.message or 'no message'}) while every "
            "process runs",
        )
        killed = kit.records.running()
        for process in killed:
            process.send(signal.SIGKILL)
        wait_until(lambda: not any(p.running() for p in killed), PATIENCE)
        when = "after every process was killed"
        status = kit.status(ctx, when)
        expect(
            status.state != "absent",
            "deployed-is-never-absent",
            "a deployed workload whose processes died is 'down' (or 'partial'), never "
            "'absent': 'absent' means not deployed at all",
            f"status {when} is 'absent' ({status.message or 'no message'})",
        )

        def lies() -> list[str]:
            claimed = [n for n, c in status.containers.items() if c.state == "ready"]
            if status.state == "ready":
                claimed = list(workload.containers)
            return [name for name in claimed if not kit.records.running(name)]

        # A supervisor may be starting the process again: look twice before judging.
        if lies() and not wait_until(lambda: not lies(), 2.0):
            status = kit.status(ctx, when)
            dead = lies()
            expect(
                not dead,
                "ready-means-running",
                "status says 'ready' (for the workload or a container) only while its "
                "processes run",
                f"status {when} is {status.state!r}, but no process of "
                f"{', '.join(map(repr, dead))} runs (pids {_shown(killed)} were killed)",
            )

    def test_destroy_stops_every_process(self, kit: KitRun, stop_timeout: float) -> None:
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        kit.destroy(ctx)
        patience = stop_timeout + 5
        left: list[RecordedProcess] = []

        def gone() -> bool:
            left[:] = kit.records.running()
            return not left

        expect(
            wait_until(gone, patience),
            "destroy-stops-processes",
            "destroy stops every process of the workload",
            f"{patience:g} s after destroy returned, still running: {_shown(left)}",
        )
        state = kit.status(ctx, "after destroy").state
        expect(
            state == "absent",
            "destroy-removes-the-workload",
            "after destroy, status is 'absent'",
            f"status after destroy is {state!r}",
        )

    def test_stop_escalates_to_kill(self, kit: KitRun, stop_timeout: float) -> None:
        workload = kit.workloads.workload(
            "stubborn", kit.workloads.container("stubborn", ignore_term=True)
        )
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        process = kit.records.running("stubborn")[0]
        kit.destroy(ctx)
        patience = stop_timeout + 5
        expect(
            wait_until(lambda: not process.running(), patience),
            "stop-escalates-to-kill",
            "stopping a process that ignores TERM sends KILL once the stop timeout passes",
            f"the process ignoring TERM ({process.describe()}, signals noted: "
            f"{', '.join(process.signals()) or 'none'}) still runs {patience:g} s after "
            "destroy returned",
        )
        noted = process.signals()
        expect(
            "SIGTERM" in noted or "SIGINT" in noted,
            "stop-is-graceful",
            "a process is asked to stop (TERM) before it is killed, so it can clean up",
            f"it was killed without a TERM first (signals noted: {', '.join(noted) or 'none'})",
        )

    # ------------------------------------------------------------------ deploy
    def test_deploy_twice_runs_one_process_per_container(self, kit: KitRun) -> None:
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        self._deploy(kit, ctx, workload)
        self._one_each(
            kit,
            workload,
            "deploy-is-idempotent",
            "deploying the same release again (as the engine does after a crash) leaves "
            "one process per container, never a second copy",
            "two deploys of release 1",
            1,
        )

    def test_new_release_replaces_the_old(self, kit: KitRun) -> None:
        ctx = kit.context("pair")
        self._deploy(kit, ctx, self._pair(kit, 1))
        self._deploy(kit, replace(ctx, release=2), self._pair(kit, 2))
        self._one_each(
            kit,
            self._pair(kit, 2),
            "new-release-replaces-the-old",
            "a new release replaces the running one: the old release's processes stop",
            "deploying release 2 over release 1",
            2,
        )

    def test_rollback_restores_the_processes(self, kit: KitRun) -> None:
        ctx = kit.context("pair")
        one = self._deploy(kit, ctx, self._pair(kit, 1))
        self._deploy(kit, replace(ctx, release=2), self._pair(kit, 2))
        kit.rollback(replace(ctx, release=3), self._pair(kit, 1), 1, dict(one.outputs))
        self._one_each(
            kit,
            self._pair(kit, 1),
            "rollback-restores-the-release",
            "rollback to a release runs that release's workload again, in place of the current",
            "rollback from release 2 to release 1",
            1,
        )

    def test_deploy_fails_when_a_process_cannot_start(self, kit: KitRun) -> None:
        workload = kit.workloads.workload(
            "broken",
            kit.workloads.container("main"),
            kit.workloads.container("broken", exit_after=0, exit_code=3),
        )
        ctx = kit.context(workload.name)
        requires = "deploy succeeds only when every container's process really runs"
        kit.track(ctx)
        try:
            kit.deployer.deploy(ctx, workload)
        except (ResourceError, TransientError):
            pass
        except Exception as exc:
            broken(
                "deploy-failures-are-typed",
                "a deploy that fails raises ResourceError (or TransientError when a retry "
                "may help), which the engine reports with the plugin's name",
                f"deploy raised {type(exc).__name__}: {exc}",
            )
        else:
            wait_until(lambda: any(p.exit() for p in kit.records.processes("broken")), PATIENCE)
            exits = [p.exit() for p in kit.records.processes("broken")]
            codes = ", ".join(str(e["code"]) for e in exits if e) or "none noted"
            broken(
                "deploy-checks-processes-started",
                requires,
                "deploy returned success, but container 'broken' exits at once "
                f"(exit codes: {codes}) and is not running",
            )
        status = kit.status(ctx, "after the failed deploy")
        expect(
            status.state != "ready",
            "ready-means-running",
            "status says 'ready' only while every process runs",
            "status after the failed deploy is 'ready' though container 'broken' does not run",
        )

    def test_deploy_waits_for_readiness(self, kit: KitRun) -> None:
        workload = kit.workloads.workload("slow", kit.workloads.container("slow", ready_after=2.0))
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        returned = time.time()
        process = kit.records.running("slow")[0]
        ready_at = process.ready_at()
        expect(
            ready_at is not None and ready_at <= returned,
            "deploy-waits-for-readiness",
            "deploy returns once every container's readiness probe passes",
            "deploy returned while container 'slow' was not ready (its readiness probe "
            "failed until 2 s after it started)",
        )

    def test_before_order_is_respected(self, kit: KitRun) -> None:
        make = kit.workloads.container
        workload = kit.workloads.workload(
            "ordered",
            make("app", before={"migrate": "complete", "db": "healthy"}),
            make("sidecar", before={"db": "started"}),
            make("migrate", exit_after=1.0, exit_code=0),
            make("db", ready_after=1.5),
        )
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload, jobs=frozenset({"migrate"}))
        first = {name: kit.records.processes(name) for name in workload.containers}
        late = []
        for name, container in workload.containers.items():
            if not first[name]:
                late.append(f"{name} never started")
                continue
            started = first[name][0].started_at
            for dependency, condition in container.before.items():
                runs = first[dependency]
                if not runs:
                    late.append(f"{name} started but {dependency} never did")
                    continue
                reached = {
                    "started": runs[0].started_at,
                    "healthy": runs[0].ready_at(),
                    "complete": (runs[0].exit() or {}).get("at"),
                }[condition]
                if reached is None or started < float(reached):
                    gap = "" if reached is None else f" {float(reached) - started:.1f} s"
                    late.append(
                        f"{name} started{gap} before {dependency} was {condition} "
                        f"(before: {{{dependency}: {condition}}})"
                    )
        expect(
            not late,
            "before-order-respected",
            "a container starts only after each container its 'before' names has reached "
            "the condition given (started: running; healthy: readiness probe passes; "
            "complete: exited with code 0)",
            "; ".join(late),
        )

    # ------------------------------------------------------------- environment
    def test_secret_variables_reach_only_the_process(
        self, kit: KitRun, deployer_state_dirs: list[Path]
    ) -> None:
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        secret = kit.workloads.secret.reveal()
        for process in kit.records.running():
            env = process.env_digests()
            for variable, value, rule in (
                ("KIT_SECRET", secret, "secret-variables-reach-the-process"),
                ("KIT_PLAIN", "kit plain value", "variables-reach-the-process"),
            ):
                got = env.get(variable)
                expect(
                    got == program.digest(value),
                    rule,
                    "every variable of the container, secret or not, is in its process's "
                    "environment with its value",
                    f"{variable} is {'missing from' if got is None else 'another value in'} "
                    f"the environment of container {process.container!r} ({process.describe()})",
                )
        found = files_holding(deployer_state_dirs, secret, skip=kit.records.root.parent)
        expect(
            not found,
            "secrets-never-on-disk",
            "a secret variable's value is never written to disk in plain text (or base64): "
            "pass it in the process's environment, or store it sealed",
            f"the secret variable's value is in {', '.join(found)} (value not shown)",
        )

    def test_operator_podium_variables_stay_out(
        self, kit: KitRun, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PODIUM_STATE_KEY", f"kit-state-key-{os.getpid()}-{time.time_ns()}")
        monkeypatch.setenv("PODIUM_KIT_CANARY", f"kit-canary-{time.time_ns()}")
        operator = {k: program.digest(v) for k, v in os.environ.items() if k.startswith("PODIUM_")}
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        leaks = []
        for process in kit.records.running():
            env = process.env_digests()
            names = sorted(k for k, v in operator.items() if env.get(k) == v)
            if names:
                leaks.append(f"container {process.container!r} got {', '.join(names)}")
        expect(
            not leaks,
            "no-operator-podium-variables",
            "a workload's environment holds none of the PODIUM_* variables podium runs "
            "with (PODIUM_STATE_KEY unlocks the state): start processes with what the "
            "workload declares, not a copy of os.environ",
            "; ".join(leaks) + " from the environment podium runs in",
        )

    # ------------------------------------------------------------------ logs
    def test_logs_filter_by_container(self, kit: KitRun) -> None:
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        self._wait_for_output(kit, ctx, ["web", "worker"])
        lines = call(
            "list(logs(container='web'))",
            lambda: list(kit.deployer.logs(ctx, container="web")),
        )
        foreign = [
            line for line in lines if line.container != "web" or _printed("worker", "") in line.text
        ]
        expect(
            not foreign and any(_printed("web") in line.text for line in lines),
            "logs-container-filter",
            "logs(container=name) yields that container's lines, and only them",
            f"logs(container='web') yielded {len(lines)} lines, {len(foreign)} of them "
            "from container 'worker'",
        )

    def test_logs_tail(self, kit: KitRun) -> None:
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        self._wait_for_output(kit, ctx, ["web", "worker"])
        lines = call(
            "list(logs(container='web', tail=2))",
            lambda: list(kit.deployer.logs(ctx, container="web", tail=2)),
        )
        expect(
            len(lines) <= 2 and any(_printed("web") in line.text for line in lines),
            "logs-tail",
            "logs(tail=N) yields the last N lines (fewer when there are fewer)",
            f"logs(container='web', tail=2) yielded {len(lines)} lines"
            + ("" if len(lines) > 2 else f", without the last one ({_printed('web')!r})"),
        )

    def test_logs_follow(self, kit: KitRun) -> None:
        workload = self._pair(kit)
        ctx = kit.context(workload.name)
        self._deploy(kit, ctx, workload)
        self._wait_for_output(kit, ctx, ["web"])
        process = kit.records.running("web")[0]
        with Following(kit.deployer, ctx, process) as follow:
            got, count, ended = follow.until(_printed("web"), PATIENCE)
            expect(
                got,
                "logs-follow",
                "logs(follow=True) first yields the lines already printed",
                f"it yielded {count} lines"
                + (" and ended" if ended else "")
                + f", none of them {_printed('web')!r}",
            )
            process.send(signal.SIGUSR1)  # the process prints a new line
            got, count, ended = follow.until(_printed("web", "poke 1"), PATIENCE)
            expect(
                got,
                "logs-follow",
                "logs(follow=True) keeps yielding new lines as the process prints them, "
                "until the caller stops iterating",
                (
                    "it ended after the lines already printed"
                    if ended
                    else f"the line the process printed after follow began did not come "
                    f"within {PATIENCE:g} s ({count} other lines did)"
                ),
            )

    # ------------------------------------------------------------ interruption
    def test_interrupted_deploy_converges(self, kit: KitRun) -> None:
        if not hasattr(os, "fork"):
            pytest.skip("needs os.fork to kill a deploy midway")
        workload = kit.workloads.workload(
            "interrupted",
            kit.workloads.container("first", ready_after=2.0),
            kit.workloads.container("second", before={"first": "healthy"}),
        )
        ctx = kit.context(workload.name)
        kit.track(ctx)
        deploy_killed_midway(kit, ctx, workload, lambda: bool(kit.records.processes("first")))
        self._deploy(kit, ctx, workload)
        self._one_each(
            kit,
            workload,
            "interrupted-deploy-converges",
            "after a deploy killed midway (SIGKILL of podium), deploying the same release "
            "again converges: one process per container, none of the killed attempt's "
            "left beside it (find what it started from your own records)",
            "a deploy killed while it waited for 'first' to be ready, then deployed again",
            1,
        )
