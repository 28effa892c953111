"""The :class:`~podium.deployment.Deployer` conformance kit every deployer passes.

Re-exported by :mod:`podium.testing.conformance`. :class:`DeployerConformance`
checks a deployer through its own answers (deploy, status, logs, rollback,
destroy), so it applies to remote deployers too (ECS, Kubernetes), whose
processes the kit cannot see. Deployers that run processes on this machine also
pass :class:`~podium.testing.process_deployer_kit.ProcessDeployerConformance`,
which checks those answers against what the processes themselves recorded.

Both deploy the kit's fixture workload (:mod:`podium.testing.deploy_fixture`,
copied into a directory the kit makes per test) and, whatever a check found,
destroy what they deployed and then KILL any fixture process still running.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from podium.security.secret import Secret
from podium.testing import deploy_fixture
from podium.testing._deploy_records import FixtureRecords
from podium.testing._report import PluginCallFailed, broken, call, describe, expect, valid_name

if TYPE_CHECKING:
    from podium.deployment.contract import (
        DeployContext,
        DeploymentResult,
        ReadyCondition,
        RenderedContainer,
        RenderedWorkload,
        WorkloadStatus,
    )
    from podium.platform.context import EnvironmentInfo

#: The plain variable every kit container gets (its value is not secret).
PLAIN_VALUE = "kit plain value"


class KitWorkloads:
    """Rendered workloads whose containers run the fixture program.

    Every container gets ``KIT_PLAIN`` (plain), ``KIT_SECRET`` (a :class:`Secret`,
    unique to the test) and ``KIT_RELEASE`` (which workload release it is).
    """

    def __init__(self, directory: Path, python: str, image: str = "busybox") -> None:
        self.script = directory / "deploy_fixture.py"
        self.records = directory / "records"
        self.python = python
        self.image = image
        self.secret = Secret(f"kit-secret-{uuid.uuid4().hex}")

    def container(
        self,
        name: str,
        *,
        release: int = 1,
        ready_after: float | None = None,
        exit_after: float | None = None,
        exit_code: int = 0,
        ignore_term: bool = False,
        before: Mapping[str, ReadyCondition] | None = None,
    ) -> RenderedContainer:
        """One container; ``ready_after`` adds a readiness probe that passes that much later."""
        from podium.deployment.contract import Probe, RenderedContainer

        where = ["--records", str(self.records), "--container", name]
        args = ["run", *where, "--show", "KIT_RELEASE", "--show", "KIT_PLAIN"]
        probe = None
        if ready_after is not None:
            args += ["--ready-after", f"{ready_after:g}"]
            probe = Probe(exec_command=[self.python, str(self.script), "probe", *where])
        if exit_after is not None:
            args += ["--exit-after", f"{exit_after:g}", "--exit-code", str(exit_code)]
        if ignore_term:
            args.append("--ignore-term")
        return RenderedContainer(
            name=name,
            image=self.image,
            command=[self.python, str(self.script)],
            args=args,
            variables={
                "KIT_PLAIN": PLAIN_VALUE,
                "KIT_SECRET": self.secret,
                "KIT_RELEASE": str(release),
            },
            readiness_probe=probe,
            before=dict(before or {}),
        )

    def workload(self, name: str, *containers: RenderedContainer) -> RenderedWorkload:
        from podium.deployment.contract import RenderedWorkload

        return RenderedWorkload(name=name, containers={c.name: c for c in containers})


def with_release(workload: RenderedWorkload, release: int) -> RenderedWorkload:
    """``workload`` with ``KIT_RELEASE`` set to ``release`` in every container."""
    containers = {
        name: container.model_copy(
            update={"variables": {**container.variables, "KIT_RELEASE": str(release)}}
        )
        for name, container in workload.containers.items()
    }
    return workload.model_copy(update={"containers": containers})


def secret_values(workload: RenderedWorkload) -> list[str]:
    """The plaintext of every secret the workload carries (variables and files)."""
    values = []
    for container in workload.containers.values():
        values += [v.reveal() for v in container.variables.values() if isinstance(v, Secret)]
        values += [f.content.reveal() for f in container.files if isinstance(f.content, Secret)]
    return [value for value in values if value]


def plaintext_secrets(value: Any, secrets: list[str], where: str) -> list[str]:
    """Where in ``value`` a secret shows in plain text (a :class:`Secret` is fine)."""
    from pydantic import BaseModel

    if isinstance(value, Secret) or not secrets:
        return []
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, Mapping):
        found = []
        for key, item in value.items():
            found += plaintext_secrets(key, secrets, f"{where} key")
            found += plaintext_secrets(item, secrets, f"{where}[{key!r}]")
        return found
    if isinstance(value, list | tuple | set | frozenset):
        return [
            w
            for i, item in enumerate(value)
            for w in plaintext_secrets(item, secrets, f"{where}[{i}]")
        ]
    text = value if isinstance(value, str) else repr(value)
    return [where] if any(secret in text for secret in secrets) else []


class KitRun:
    """One check's deployer calls, and the cleanup that runs whatever the check found."""

    def __init__(
        self,
        deployer: Any,
        env: EnvironmentInfo,
        records: FixtureRecords,
        workloads: KitWorkloads,
    ) -> None:
        self.deployer = deployer
        self.env = env
        self.records = records
        self.workloads = workloads
        self._deployed: dict[str, DeployContext] = {}

    def context(self, workload: str, release: int = 1) -> DeployContext:
        from podium.deployment.contract import DeployContext

        return DeployContext(workload=workload, env=self.env, release=release)

    def track(self, ctx: DeployContext) -> None:
        """Destroy ``ctx.workload`` in the cleanup (for a deploy made without :meth:`deploy`)."""
        self._deployed[ctx.workload] = ctx

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        from podium.deployment.contract import DeploymentResult

        self.track(ctx)
        result: DeploymentResult = call(
            f"deploy(release {ctx.release})", self.deployer.deploy, ctx, workload
        )
        expect(
            isinstance(result, DeploymentResult),
            "deploy-returns-a-result",
            "deploy returns a DeploymentResult",
            f"deploy returned {describe(result)}",
        )
        return result

    def rollback(
        self, ctx: DeployContext, workload: RenderedWorkload, number: int, outputs: dict[str, Any]
    ) -> DeploymentResult:
        """Roll back to release ``number`` (which deployed ``workload``), as the core does."""
        from podium.deployment.contract import Release

        release = Release(
            number=number,
            workload=workload,
            deployer=str(getattr(self.deployer, "name", "")),
            outputs=outputs,
            created_at=datetime.now(UTC),
            run_id="",
        )
        self.track(ctx)
        result: DeploymentResult = call(
            f"rollback(to release {number}) as release {ctx.release}",
            self.deployer.rollback,
            ctx,
            release,
        )
        return result

    def status(self, ctx: DeployContext, when: str) -> WorkloadStatus:
        from podium.deployment.contract import WorkloadStatus

        status: WorkloadStatus = call(f"status() {when}", self.deployer.status, ctx)
        expect(
            isinstance(status, WorkloadStatus),
            "status-is-a-workload-status",
            "status returns a WorkloadStatus",
            f"status {when} returned {describe(status)}",
        )
        return status

    def destroy(self, ctx: DeployContext, when: str = "") -> None:
        call(f"destroy() {when}".strip(), self.deployer.destroy, ctx)
        self._deployed.pop(ctx.workload, None)  # destroyed: the cleanup need not again

    def cleanup(self) -> None:
        """Destroy what the check deployed, then KILL every fixture process still running."""
        failure: BaseException | None = None
        for ctx in self._deployed.values():
            try:
                self.deployer.destroy(ctx)
            except Exception as exc:  # reported after the processes are gone
                failure = failure or exc
        self.records.reap()
        if failure is not None:
            raise PluginCallFailed(
                f"destroy() in the kit's cleanup raised {type(failure).__name__}: {failure}"
            ) from failure


def make_kit_directory(parent: Path) -> Path:
    """A directory for the fixture program and its records, open to the workload's user.

    A deployer may run workloads as a user of their own (podium-local does as
    root), who must run the copied program and write its records: hence 0o777.
    """
    directory = Path(tempfile.mkdtemp(prefix="podium-deployer-kit-", dir=parent))
    shutil.copyfile(deploy_fixture.__file__, directory / "deploy_fixture.py")
    (directory / "deploy_fixture.py").chmod(0o644)
    instances = directory / "records" / deploy_fixture.INSTANCES
    instances.mkdir(parents=True)
    for path in (directory, directory / "records", instances):
        path.chmod(0o777)
    return directory


class DeployerConformance:
    """The :class:`~podium.deployment.Deployer` contract, through the deployer's own answers.

    Provide ``deployer``. Optional fixtures:

    * ``rendered_workload``: the workload these checks deploy (default: one
      container, ``main``, running the kit's fixture program, with a plain and a
      secret variable);
    * ``workload_python``: the interpreter the fixture program runs with (default:
      the one running the tests); it must be usable by the user the workloads run as;
    * ``kit_temp_dir``: where the kit makes its directory for the fixture program and
      its records (default: the system's temporary directory); the workloads' user
      must be able to reach it.

    Remote deployers (ECS, Kubernetes) pass this kit; deployers that run processes
    on this machine pass :class:`ProcessDeployerConformance` as well.
    """

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture
    def workload_python(self) -> str:
        return sys.executable

    @pytest.fixture
    def kit_temp_dir(self) -> Path:
        return Path(tempfile.gettempdir())

    @pytest.fixture
    def kit_directory(self, kit_temp_dir: Path) -> Iterator[Path]:
        directory = make_kit_directory(kit_temp_dir)
        yield directory
        shutil.rmtree(directory, ignore_errors=True)

    @pytest.fixture
    def kit_workloads(self, kit_directory: Path, workload_python: str) -> KitWorkloads:
        return KitWorkloads(kit_directory, workload_python)

    @pytest.fixture
    def kit_records(self, kit_directory: Path) -> FixtureRecords:
        return FixtureRecords(kit_directory / "records")

    @pytest.fixture
    def kit(
        self,
        deployer: Any,
        podium_env: EnvironmentInfo,
        kit_records: FixtureRecords,
        kit_workloads: KitWorkloads,
    ) -> Iterator[KitRun]:
        run = KitRun(deployer, podium_env, kit_records, kit_workloads)
        yield run
        run.cleanup()

    @pytest.fixture
    def rendered_workload(self, kit_workloads: KitWorkloads) -> RenderedWorkload:
        return kit_workloads.workload("conformance", kit_workloads.container("main"))

    @pytest.fixture
    def deploy_context(self, kit: KitRun, rendered_workload: RenderedWorkload) -> DeployContext:
        return kit.context(rendered_workload.name)

    @pytest.fixture
    def deployed(
        self, kit: KitRun, deploy_context: DeployContext, rendered_workload: RenderedWorkload
    ) -> DeploymentResult:
        return kit.deploy(deploy_context, rendered_workload)

    # ------------------------------------------------------------------ checks
    def test_registration_name_is_valid(self, deployer: Any) -> None:
        valid_name(getattr(deployer, "name", None), "deployer")

    def test_deploy_returns_a_result(self, deployed: DeploymentResult) -> None:
        from podium.deployment.contract import DeploymentResult

        expect(
            isinstance(deployed, DeploymentResult),
            "deploy-returns-a-result",
            "deploy returns a DeploymentResult",
            f"deploy returned {describe(deployed)}",
        )

    def test_status_after_deploy_is_not_absent(
        self, kit: KitRun, deploy_context: DeployContext, deployed: DeploymentResult
    ) -> None:
        status = kit.status(deploy_context, "after deploy")
        expect(
            status.workload == deploy_context.workload,
            "status-names-the-workload",
            "status(ctx).workload is ctx.workload",
            f"status of {deploy_context.workload!r} is about {status.workload!r}",
        )
        expect(
            status.state != "absent",
            "deployed-is-not-absent",
            "after deploy, status is not 'absent' ('absent' means never deployed, or destroyed)",
            f"status after deploy is 'absent' ({status.message or 'no message'})",
        )

    def test_status_names_the_containers(
        self,
        kit: KitRun,
        deploy_context: DeployContext,
        rendered_workload: RenderedWorkload,
        deployed: DeploymentResult,
    ) -> None:
        named = set(kit.status(deploy_context, "after deploy").containers)
        expected = set(rendered_workload.containers)
        expect(
            not named or named == expected,
            "status-names-the-containers",
            "status.containers, when given, has one entry per container of the workload",
            f"status names {sorted(named)}, the workload has {sorted(expected)}",
        )

    def test_same_release_twice_is_accepted(
        self,
        kit: KitRun,
        deploy_context: DeployContext,
        rendered_workload: RenderedWorkload,
        deployed: DeploymentResult,
    ) -> None:
        # After a crash the engine calls deploy again with the same release.
        kit.deploy(deploy_context, rendered_workload)
        state = kit.status(deploy_context, "after a second deploy of release 1").state
        expect(
            state != "absent",
            "deploy-is-idempotent",
            "deploying the same release again converges (the engine does so after a crash)",
            "status after the second deploy of release 1 is 'absent'",
        )

    def test_redeploy_is_accepted(
        self,
        kit: KitRun,
        deploy_context: DeployContext,
        rendered_workload: RenderedWorkload,
        deployed: DeploymentResult,
    ) -> None:
        next_release = replace(deploy_context, release=deploy_context.release + 1)
        kit.deploy(next_release, with_release(rendered_workload, next_release.release))
        state = kit.status(next_release, "after a redeploy").state
        expect(
            state != "absent",
            "redeploy-is-accepted",
            "deploying a new release over a running one leaves it deployed",
            "status after the redeploy is 'absent'",
        )

    def test_logs_is_an_iterator_of_log_lines(
        self, deployer: Any, deploy_context: DeployContext, deployed: DeploymentResult
    ) -> None:
        from podium.deployment.contract import LogLine

        lines = call("list(logs(tail=10))", lambda: list(deployer.logs(deploy_context, tail=10)))
        odd = sorted({type(line).__name__ for line in lines if not isinstance(line, LogLine)})
        expect(
            not odd,
            "logs-are-log-lines",
            "logs yields LogLine values",
            f"logs yielded {', '.join(odd)} values",
        )

    def test_destroy_then_status_is_absent(
        self, kit: KitRun, deploy_context: DeployContext, rendered_workload: RenderedWorkload
    ) -> None:
        kit.deploy(deploy_context, rendered_workload)
        kit.destroy(deploy_context)
        state = kit.status(deploy_context, "after destroy").state
        expect(
            state == "absent",
            "destroy-removes-the-workload",
            "after destroy, status is 'absent'",
            f"status after destroy is {state!r}: the workload was left behind",
        )
        self._must_succeed(
            "destroy-is-idempotent",
            "a second destroy of a destroyed workload succeeds",
            "a second destroy()",
            kit,
            deploy_context,
        )

    def test_destroy_of_nothing_succeeds(self, kit: KitRun) -> None:
        ctx = kit.context(f"never-{uuid.uuid4().hex[:6]}")
        self._must_succeed(
            "destroy-of-nothing-succeeds",
            "destroy of a workload that was never deployed succeeds (nothing to do)",
            "destroy() of a workload never deployed",
            kit,
            ctx,
        )

    def test_secrets_stay_out_of_outputs(
        self,
        kit: KitRun,
        deploy_context: DeployContext,
        rendered_workload: RenderedWorkload,
        deployed: DeploymentResult,
    ) -> None:
        secrets = secret_values(rendered_workload)
        if not secrets:
            pytest.skip(
                "your rendered_workload carries no secret: give it a Secret variable (the "
                "kit's default workload has one) to check secrets stay out of outputs"
            )
        status = kit.status(deploy_context, "after deploy")
        shown = plaintext_secrets(deployed, secrets, "deploy's result")
        shown += plaintext_secrets(status, secrets, "status")
        expect(
            not shown,
            "secrets-never-in-outputs",
            "a secret variable's value never appears in plain text in deploy's result "
            "(outputs, urls, message) or in status: outputs are recorded and shown "
            "(return a Secret when an output must hold one)",
            f"the secret variable's value shows in {', '.join(shown)} (value not shown)",
        )

    def test_rollback_returns_to_the_release(
        self, kit: KitRun, deploy_context: DeployContext, rendered_workload: RenderedWorkload
    ) -> None:
        first = with_release(rendered_workload, 1)
        one = kit.deploy(deploy_context, first)
        # The same workload as a new release: outputs that change now depend on the
        # release number or the time, not on what runs, and are not compared.
        again = kit.deploy(replace(deploy_context, release=2), first)
        two = kit.deploy(replace(deploy_context, release=3), with_release(rendered_workload, 3))
        back = kit.rollback(replace(deploy_context, release=4), first, 1, dict(one.outputs))
        varying = {k for k in one.outputs if again.outputs.get(k) != one.outputs[k]}
        revision = sorted(
            str(k) for k in one.outputs if k not in varying and two.outputs.get(k) != one.outputs[k]
        )
        wrong = [k for k in revision if back.outputs.get(k) != one.outputs[k]]
        expect(
            not wrong,
            "rollback-restores-the-release",
            "rollback to a release runs that release again: outputs that name what runs "
            f"({', '.join(revision)}) are release 1's again",
            f"after rollback to release 1, {', '.join(wrong)} still differ from release 1's",
        )
        state = kit.status(replace(deploy_context, release=4), "after rollback").state
        expect(
            state != "absent",
            "rollback-restores-the-release",
            "after a rollback the workload is deployed",
            "status after rollback is 'absent'",
        )

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _must_succeed(
        rule: str, requires: str, operation: str, kit: KitRun, ctx: DeployContext
    ) -> None:
        __tracebackhide__ = True
        try:
            kit.deployer.destroy(ctx)
        except Exception as exc:
            broken(rule, requires, f"{operation} raised {type(exc).__name__}: {exc}")
