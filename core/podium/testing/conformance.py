"""Conformance test kits: subclass one, provide a fixture, and pytest checks the contract.

Each class is a set of pytest tests (the classes are not collected themselves:
their names do not start with ``Test``). A plugin author writes::

    import pytest
    from podium.testing.conformance import ProvisionerConformance

    class TestBucket(ProvisionerConformance):
        @pytest.fixture
        def provisioner(self):
            return BucketProvisioner(endpoint="http://127.0.0.1:5000")

        @pytest.fixture
        def resource_params(self):
            return {"versioning": True}

The fixtures ``podium_env`` and ``podium_resource_context`` come from
:mod:`podium.testing.pytest_plugin`, which pytest loads automatically.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, cast

import pytest

from podium.errors import LockedError, NotFoundError, ResourceError, TransientError
from podium.platform.context import EnvironmentInfo
from podium.security.secret import Secret
from podium.testing._report import (
    broken,
    call,
    describe,
    expect,
    key_list,
    outputs_diff,
    redact_text,
    secret_type_problems,
    valid_name,
)
from podium.testing.journal_kit import JournalConformance
from podium.testing.telemetry_kit import TelemetrySinkConformance

__all__ = [
    "DeployerConformance",
    "PolicyPackConformance",
    "ProvisionerConformance",
    "SecretStoreConformance",
    "StateBackendConformance",
    "TelemetrySinkConformance",
    "declared_outputs",
    "declared_secrets",
]


# --------------------------------------------------------------------- provisioner
def declared_outputs(provisioner: Any) -> frozenset[str]:
    """Every output key the provisioner declares (``outputs`` and ``secret_outputs``)."""
    return frozenset(getattr(provisioner, "outputs", ()) or ()) | declared_secrets(provisioner)


def declared_secrets(provisioner: Any) -> frozenset[str]:
    return frozenset(getattr(provisioner, "secret_outputs", ()) or ())


class ProvisionerConformance:
    """The :class:`~podium.provisioning.Provisioner` contract.

    Provide ``provisioner``. Optional fixtures:

    * ``resource_params``: params for the test resource;
    * ``provoke_error``: a function ``(provisioner, make_context)`` that makes the
      provisioner fail, to check the failure is typed;
    * ``count_resources``: a function ``(ctx) -> int`` counting the real resources
      for ``ctx``, to prove a second create made no second resource and that
      ``delete`` removed it;
    * ``interrupt_create``: a function ``(provisioner, ctx)`` that leaves the
      half-made resource a create killed midway (SIGKILL, lost connection) would
      leave, to check it is reported absent or adopted whole.
    """

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any] | None:
        return None

    @pytest.fixture
    def count_resources(self) -> Callable[[Any], int] | None:
        return None

    @pytest.fixture
    def interrupt_create(self) -> Callable[[Any, Any], Any] | None:
        return None

    @pytest.fixture
    def make_context(
        self, provisioner: Any, podium_resource_context: Any, resource_params: dict[str, Any]
    ) -> Callable[..., Any]:
        def make(name: str = "conformance", **kwargs: Any) -> Any:
            kwargs.setdefault("params", resource_params)
            return podium_resource_context(provisioner, name=name, **kwargs)

        return make

    @pytest.fixture
    def resource(self, provisioner: Any, make_context: Callable[..., Any]) -> Iterator[Any]:
        """A context for a fresh resource, deleted after the test whatever happens."""
        ctx = make_context(f"conformance-{uuid.uuid4().hex[:6]}")
        yield ctx
        call(f"delete({ctx.uid}) in the kit's cleanup", provisioner.delete, ctx)

    @staticmethod
    def _outputs(provisioner: Any, ctx: Any, operation: str = "create") -> Mapping[str, Any]:
        """Call ``create`` (or ``read``) and check it returned a mapping of outputs."""
        outputs = call(f"{operation}({ctx.uid})", getattr(provisioner, operation), ctx)
        if not isinstance(outputs, Mapping):
            broken(
                f"{operation}-returns-outputs",
                f"{operation} returns the resource's outputs as a dict",
                f"{operation} returned {describe(outputs)}",
            )
        return outputs

    @staticmethod
    def _count_is(count_resources: Callable[[Any], int] | None, ctx: Any, want: int) -> None:
        if count_resources is None:
            return
        found = call("the count_resources fixture", count_resources, ctx)
        if found != want:
            rule, requires = {
                0: ("delete-removes-the-resource", "after delete, no real resource is left"),
                1: ("create-is-idempotent", "create makes one real resource, never a second"),
            }[want]
            broken(rule, requires, f"count_resources found {found} for {ctx.uid}, expected {want}")

    def test_registration_name_is_valid(self, provisioner: Any) -> None:
        valid_name(getattr(provisioner, "name", None), "provisioner")
        rtype = getattr(provisioner, "resource_type", None)
        if not isinstance(rtype, str) or not rtype:
            broken(
                "resource-type-declared",
                "resource_type is a non-empty str (the Score resource type it provisions)",
                f"resource_type is {rtype!r}",
            )
        if "*" in provisioner.resource_classes and not provisioner.handles(rtype, "default"):
            broken(
                "handles-its-type",
                "a provisioner for every class handles its own resource_type",
                f"handles({rtype!r}, 'default') returned False",
            )

    def test_create_twice_is_idempotent(
        self, provisioner: Any, resource: Any, count_resources: Callable[[Any], int] | None
    ) -> None:
        first = self._outputs(provisioner, resource)
        second = self._outputs(provisioner, resource)
        diff = outputs_diff(first, second, "the first create", "the second")
        if diff:
            broken(
                "create-is-idempotent",
                "a second create of the same resource returns the same outputs "
                "(crash recovery calls create again)",
                "a second create returned other outputs: " + "; ".join(diff),
            )
        self._count_is(count_resources, resource, 1)

    def test_read_after_create_returns_outputs(self, provisioner: Any, resource: Any) -> None:
        created = self._outputs(provisioner, resource)
        found = call(f"read({resource.uid})", provisioner.read, resource)
        if not isinstance(found, Mapping):
            broken(
                "read-finds-what-create-made",
                "read of an existing resource returns its outputs",
                f"read after create returned {describe(found)}",
            )
        diff = outputs_diff(created, found, "create", "read")
        if diff:
            broken(
                "read-finds-what-create-made",
                "read returns the outputs create returned",
                "read differs from create: " + "; ".join(diff),
            )

    def test_read_of_missing_resource_is_none(
        self, provisioner: Any, make_context: Callable[..., Any]
    ) -> None:
        ctx = make_context(f"never-created-{uuid.uuid4().hex[:6]}")
        found = call(f"read({ctx.uid}) of a resource never created", provisioner.read, ctx)
        if found is not None:
            broken(
                "read-of-missing-is-none",
                "read returns None for a resource that does not exist (not {} nor outputs)",
                f"read of a resource never created returned {describe(found)}",
            )

    def test_delete_of_missing_resource_succeeds(
        self, provisioner: Any, make_context: Callable[..., Any]
    ) -> None:
        ctx = make_context(f"never-created-{uuid.uuid4().hex[:6]}")
        call(f"delete({ctx.uid}) of a resource never created", provisioner.delete, ctx)

    def test_delete_then_read_is_none(
        self, provisioner: Any, resource: Any, count_resources: Callable[[Any], int] | None
    ) -> None:
        self._outputs(provisioner, resource)
        call(f"delete({resource.uid})", provisioner.delete, resource)
        # A new context, so a provisioner caching on the context object cannot hide the resource.
        again = replace(resource)
        found = call(f"read({resource.uid}) after delete", provisioner.read, again)
        if found is not None:
            broken(
                "delete-removes-the-resource",
                "after delete(ctx), read(ctx) returns None: the resource is gone",
                f"read after delete returned {describe(found)}: the resource was left behind",
            )
        self._count_is(count_resources, resource, 0)
        call(f"a second delete({resource.uid})", provisioner.delete, resource)

    def test_declared_outputs_are_returned(self, provisioner: Any, resource: Any) -> None:
        declared = declared_outputs(provisioner)
        if not declared:
            pytest.skip("the provisioner declares no outputs (set Provisioner.outputs)")
        for operation in ("create", "read"):
            outputs = self._outputs(provisioner, resource, operation)
            missing = sorted(declared - set(outputs))
            if missing:
                broken(
                    "declared-outputs-are-returned",
                    f"{operation} returns every declared output ({', '.join(sorted(declared))})",
                    f"{operation} returned [{key_list(outputs)}]: missing {', '.join(missing)}",
                )

    def test_secret_outputs_are_secret(self, provisioner: Any, resource: Any) -> None:
        secrets = declared_secrets(provisioner)
        for operation in ("create", "read"):
            outputs = self._outputs(provisioner, resource, operation)
            missing = sorted(secrets - set(outputs))
            problems = [
                f"{key!r} is declared in secret_outputs but not returned" for key in missing
            ]
            problems += secret_type_problems(outputs, secrets)
            if problems:
                broken(
                    "sensitive-outputs-are-declared-secrets",
                    "every sensitive output is a Secret and listed in secret_outputs "
                    "(undeclared secrets are shown unredacted by tools that trust the declaration)",
                    f"{operation} returned: " + "; ".join(problems),
                )

    def test_interrupted_create_is_absent_or_adopted(
        self,
        provisioner: Any,
        resource: Any,
        interrupt_create: Callable[[Any, Any], Any] | None,
        count_resources: Callable[[Any], int] | None,
    ) -> None:
        if interrupt_create is None:
            pytest.skip("provide an interrupt_create fixture to check interrupted creates")
        call("the interrupt_create fixture", interrupt_create, provisioner, resource)
        found = call(
            f"read({resource.uid}) after an interrupted create", provisioner.read, resource
        )
        requires = (
            "after a create killed midway, read returns None (absent: the engine creates it "
            "again) or the complete outputs create then returns (the engine adopts what read "
            "returns and never calls create)"
        )
        if found is not None and not isinstance(found, Mapping):
            broken(
                "interrupted-create-absent-or-whole", requires, f"read returned {describe(found)}"
            )
        outputs = self._outputs(provisioner, resource)
        if found is not None:
            diff = outputs_diff(outputs, found, "create", "read after the interruption")
            if diff:
                broken(
                    "interrupted-create-absent-or-whole",
                    requires,
                    "read reported the half-made resource as existing, with outputs that "
                    "differ from the whole resource's: " + "; ".join(diff),
                )
        self._count_is(count_resources, resource, 1)
        final = call(f"read({resource.uid}) after the create", provisioner.read, resource)
        diff = (
            outputs_diff(outputs, final, "create", "read")
            if isinstance(final, Mapping)
            else ["read returned None"]
        )
        if diff:
            broken(
                "interrupted-create-absent-or-whole",
                "create after an interruption converges: read then returns its outputs",
                "; ".join(diff),
            )

    def test_failures_are_typed(
        self,
        provisioner: Any,
        make_context: Callable[..., Any],
        provoke_error: Callable[..., Any] | None,
    ) -> None:
        if provoke_error is None:
            pytest.skip("provide a provoke_error fixture to check the provisioner's errors")
        requires = "failures raise TransientError (retried) or ResourceError (reported as is)"
        try:
            provoke_error(provisioner, make_context)
        except (TransientError, ResourceError):
            return
        except Exception as exc:
            broken(
                "failures-are-typed",
                requires,
                f"provoke_error raised {type(exc).__name__}: {redact_text(str(exc))}",
            )
        broken("failures-are-typed", requires, "provoke_error raised nothing")


# ------------------------------------------------------------------------ deployer
class DeployerConformance:
    """The :class:`~podium.deployment.Deployer` contract.

    Provide ``deployer``; override ``rendered_workload`` when the default (one
    container running ``sleep 30`` from image ``busybox``) does not suit it.
    """

    @pytest.fixture
    def rendered_workload(self) -> Any:
        from podium.deployment.contract import RenderedContainer, RenderedWorkload

        return RenderedWorkload(
            name="conformance",
            containers={
                "main": RenderedContainer(
                    name="main", image="busybox", command=["sleep"], args=["30"]
                )
            },
        )

    @pytest.fixture
    def deploy_context(self, podium_env: EnvironmentInfo, rendered_workload: Any) -> Any:
        from podium.deployment.contract import DeployContext

        return DeployContext(workload=rendered_workload.name, env=podium_env, release=1)

    @pytest.fixture
    def deployed(self, deployer: Any, deploy_context: Any, rendered_workload: Any) -> Iterator[Any]:
        result = call("deploy(release 1)", deployer.deploy, deploy_context, rendered_workload)
        yield result
        call("destroy() in the kit's cleanup", deployer.destroy, deploy_context)

    @staticmethod
    def _status(deployer: Any, ctx: Any, when: str) -> Any:
        from podium.deployment.contract import WorkloadStatus

        status = call(f"status() {when}", deployer.status, ctx)
        expect(
            isinstance(status, WorkloadStatus),
            "status-is-a-workload-status",
            "status returns a WorkloadStatus",
            f"status {when} returned {describe(status)}",
        )
        return status

    def test_registration_name_is_valid(self, deployer: Any) -> None:
        valid_name(getattr(deployer, "name", None), "deployer")

    def test_deploy_returns_a_result(self, deployed: Any) -> None:
        from podium.deployment.contract import DeploymentResult

        expect(
            isinstance(deployed, DeploymentResult),
            "deploy-returns-a-result",
            "deploy returns a DeploymentResult",
            f"deploy returned {describe(deployed)}",
        )

    def test_status_after_deploy_is_not_absent(
        self, deployer: Any, deploy_context: Any, deployed: Any
    ) -> None:
        status = self._status(deployer, deploy_context, "after deploy")
        expect(
            status.workload == deploy_context.workload,
            "status-names-the-workload",
            "status(ctx).workload is ctx.workload",
            f"status of {deploy_context.workload!r} is about {status.workload!r}",
        )
        expect(
            status.state != "absent",
            "deployed-is-not-absent",
            "after deploy, status is not 'absent'",
            "status after deploy is 'absent'",
        )

    def test_redeploy_is_accepted(
        self, deployer: Any, deploy_context: Any, rendered_workload: Any, deployed: Any
    ) -> None:
        next_release = replace(deploy_context, release=deploy_context.release + 1)
        call("deploy(release 2) over release 1", deployer.deploy, next_release, rendered_workload)
        state = self._status(deployer, next_release, "after a redeploy").state
        expect(
            state != "absent",
            "redeploy-is-accepted",
            "deploying a new release over a running one leaves it deployed",
            "status after the redeploy is 'absent'",
        )

    def test_logs_is_an_iterator_of_log_lines(
        self, deployer: Any, deploy_context: Any, deployed: Any
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
        self, deployer: Any, deploy_context: Any, rendered_workload: Any
    ) -> None:
        call("deploy(release 1)", deployer.deploy, deploy_context, rendered_workload)
        call("destroy()", deployer.destroy, deploy_context)
        state = self._status(deployer, deploy_context, "after destroy").state
        expect(
            state == "absent",
            "destroy-removes-the-workload",
            "after destroy, status is 'absent'",
            f"status after destroy is {state!r}: the workload was left behind",
        )

    def test_destroy_of_nothing_succeeds(self, deployer: Any, podium_env: EnvironmentInfo) -> None:
        from podium.deployment.contract import DeployContext

        ctx = DeployContext(workload=f"never-{uuid.uuid4().hex[:6]}", env=podium_env)
        call("destroy() of a workload never deployed", deployer.destroy, ctx)


# -------------------------------------------------------------------- secret store
class SecretStoreConformance:
    """The :class:`~podium.security.SecretStore` contract. Provide ``secret_store``."""

    @pytest.fixture
    def secret_key(self, secret_store: Any) -> Iterator[str]:
        key = f"conformance/{uuid.uuid4().hex[:8]}"
        yield key
        call("delete() in the kit's cleanup", secret_store.delete, key)

    @staticmethod
    def _get(store: Any, key: str, when: str) -> Secret:
        value = call(f"get({key!r}) {when}", store.get, key)
        expect(
            isinstance(value, Secret),
            "get-returns-a-secret",
            "get returns a Secret, never a plain str",
            f"get {when} returned a {type(value).__name__}",
        )
        return cast(Secret, value)

    @staticmethod
    def _get_is_not_found(store: Any, key: str, when: str) -> None:
        requires = "get of a key that is not stored raises NotFoundError"
        try:
            value = store.get(key)
        except NotFoundError:
            return
        except Exception as exc:
            broken("missing-key-not-found", requires, f"get {when} raised {type(exc).__name__}")
        broken("missing-key-not-found", requires, f"get {when} returned {describe(value)}")

    def test_registration_name_is_valid(self, secret_store: Any) -> None:
        valid_name(getattr(secret_store, "name", None), "secret store")

    def test_put_then_get_returns_a_secret(self, secret_store: Any, secret_key: str) -> None:
        call("put()", secret_store.put, secret_key, Secret("s3cr3t value"))
        value = self._get(secret_store, secret_key, "after put")
        expect(
            value.reveal() == "s3cr3t value",
            "get-returns-what-was-put",
            "get returns the value put stored",
            "get after put returned another value (not shown)",
        )

    def test_put_overwrites(self, secret_store: Any, secret_key: str) -> None:
        call("put()", secret_store.put, secret_key, Secret("first"))
        call("a second put()", secret_store.put, secret_key, Secret("second"))
        expect(
            self._get(secret_store, secret_key, "after two puts").reveal() == "second",
            "put-overwrites",
            "a second put of a key replaces its value",
            "get returned another value than the second put's (not shown)",
        )

    def test_get_of_missing_key_raises_not_found(self, secret_store: Any) -> None:
        key = f"conformance/missing-{uuid.uuid4().hex[:8]}"
        self._get_is_not_found(secret_store, key, "of a key never put")

    def test_delete_of_missing_key_succeeds(self, secret_store: Any) -> None:
        key = f"conformance/missing-{uuid.uuid4().hex[:8]}"
        call("delete() of a key never put", secret_store.delete, key)

    def test_delete_then_get_raises_not_found(self, secret_store: Any, secret_key: str) -> None:
        call("put()", secret_store.put, secret_key, Secret("short-lived"))
        call("delete()", secret_store.delete, secret_key)
        self._get_is_not_found(secret_store, secret_key, "after delete")

    def test_list_is_sorted_and_holds_the_key_when_supported(
        self, secret_store: Any, secret_key: str
    ) -> None:
        call("put()", secret_store.put, secret_key, Secret("listed"))
        keys = call("list()", secret_store.list)
        requires = "list returns the stored keys sorted ([] if the store cannot list)"
        expect(keys == sorted(keys), "list-is-sorted", requires, f"list returned {keys}")
        expect(
            not keys or secret_key in keys,
            "list-holds-the-key",
            requires,
            f"{secret_key!r} was put but list returned {keys}",
        )

    def test_values_never_show_in_repr(self, secret_store: Any, secret_key: str) -> None:
        call("put()", secret_store.put, secret_key, Secret("do-not-print-me"))
        value = call("get()", secret_store.get, secret_key)
        shown = [
            name
            for name, text in (("repr", repr(value)), ("str", str(value)), ("format", f"{value}"))
            if "do-not-print-me" in text
        ]
        expect(
            not shown,
            "values-never-printed",
            "a stored value never shows in repr, str or f-strings of what get returns",
            f"the value shows in {', '.join(shown)}",
        )


# --------------------------------------------------------------------- policy pack
SAMPLE_SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: conformance
containers:
  main:
    image: nginx:latest
    variables:
      DB_PASSWORD: plain-text-password
"""


class PolicyPackConformance:
    """The :class:`~podium.security.PolicyPack` contract. Provide ``policy_pack``.

    Override ``policy_workloads`` with workloads that make your pack report
    findings; the default is one Score workload with a floating image tag and a
    plain-text password, checked in a ``dev`` and a ``prod`` environment.
    """

    @pytest.fixture
    def policy_workloads(self) -> list[Any]:
        from podium.workload.loader import load_workload_text

        return [load_workload_text(SAMPLE_SCORE, "conformance.score.yaml")]

    @pytest.fixture
    def policy_environments(self, podium_env: EnvironmentInfo) -> list[EnvironmentInfo]:
        prod = replace(podium_env, environment="prod", tier="prod")
        return [podium_env, prod]

    def _findings(self, pack: Any, workloads: list[Any], envs: list[EnvironmentInfo]) -> list[Any]:
        return [
            finding
            for w in workloads
            for e in envs
            for finding in call(
                f"check_workload({w.name}, {e.environment})", pack.check_workload, w, e
            )
        ]

    def test_registration_name_is_valid(self, policy_pack: Any) -> None:
        valid_name(getattr(policy_pack, "name", None), "policy pack")

    def test_findings_are_findings_named_after_the_pack(
        self, policy_pack: Any, policy_workloads: list[Any], policy_environments: list[Any]
    ) -> None:
        from podium.security.contract import Finding

        prefix = policy_pack.name + "."
        for finding in self._findings(policy_pack, policy_workloads, policy_environments):
            expect(
                isinstance(finding, Finding),
                "findings-are-findings",
                "check_workload yields Finding values",
                f"it yielded {describe(finding)}",
            )
            expect(
                finding.policy.startswith(prefix),
                "findings-named-after-the-pack",
                f"a finding's policy starts with the pack's name and a dot ({prefix!r})",
                f"a finding's policy is {finding.policy!r}",
            )
            expect(
                finding.level in ("advisory", "mandatory"),
                "finding-levels",
                "a finding's level is 'advisory' or 'mandatory'",
                f"finding {finding.policy!r} has level {finding.level!r}",
            )
            expect(
                finding.message,
                "findings-explain",
                "a finding has a message saying what is wrong",
                f"finding {finding.policy!r} has an empty message",
            )

    def test_checks_are_repeatable(
        self, policy_pack: Any, policy_workloads: list[Any], policy_environments: list[Any]
    ) -> None:
        first = self._findings(policy_pack, policy_workloads, policy_environments)
        again = self._findings(policy_pack, policy_workloads, policy_environments)
        expect(
            first == again,
            "checks-are-repeatable",
            "checking the same workloads twice gives the same findings",
            f"{len(first)} findings, then {len(again)} other ones",
        )

    def test_findings_never_quote_secret_values(
        self, policy_pack: Any, policy_workloads: list[Any], policy_environments: list[Any]
    ) -> None:
        for finding in self._findings(policy_pack, policy_workloads, policy_environments):
            expect(
                "plain-text-password" not in finding.message,
                "findings-never-quote-secrets",
                "a finding's message never quotes a secret value",
                f"finding {finding.policy!r} quotes the sample's password",
            )


# ------------------------------------------------------------------- state backend
class StateBackendConformance(JournalConformance):
    """The :class:`~podium.platform.StateBackend` contract, ``journal`` included.

    Provide ``state_backend``; override ``state_options`` for its ``[state] options``.
    """

    @pytest.fixture
    def state_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def state_store(
        self, state_backend: Any, podium_env: EnvironmentInfo, state_options: dict[str, Any]
    ) -> Iterator[Any]:
        store = call("open()", state_backend.open, podium_env, dict(state_options))
        yield store
        call("close() in the kit's cleanup", store.close)

    @staticmethod
    def _record(uid: str = "resource:postgres.default#web.db", **changes: Any) -> Any:
        from podium.platform.contract import ResourceRecord

        data: dict[str, Any] = {
            "uid": uid,
            "kind": "resource",
            "provider": "conformance",
            "plugin": "conformance",
            "spec": {"params": {"size": 1}},
            "spec_hash": "abc123",
            "outputs": {"host": "127.0.0.1", "password": {"$secret": "opaque-token"}},
            "physical_name": "test-dev-web-db",
            "depends_on": [],
        }
        data.update(changes)
        return ResourceRecord(**data)

    @staticmethod
    def _lock(run_id: str, *, ttl: float = 60.0, pid: int | None = None) -> Any:
        from podium.platform.contract import LockInfo

        now = time.time()
        return LockInfo(
            owner="conformance@" + socket.gethostname(),
            host=socket.gethostname(),
            pid=os.getpid() if pid is None else pid,
            run_id=run_id,
            acquired_at=now,
            expires_at=now + ttl,
        )

    @staticmethod
    def _holder(store: Any, when: str) -> str | None:
        info = call(f"lock_info() {when}", store.lock_info)
        return None if info is None else str(info.run_id)

    def test_registration_name_is_valid(self, state_backend: Any) -> None:
        valid_name(getattr(state_backend, "name", None), "state backend")

    def test_records_round_trip(self, state_store: Any) -> None:
        serial = call("serial()", state_store.serial)
        record = self._record()
        call("put_record()", state_store.put_record, record)
        expect(
            call("serial()", state_store.serial) > serial,
            "serial-increases",
            "serial() increases with every change to records (saved plans compare it)",
            f"serial stayed {serial} after put_record",
        )
        stored = call("records()", state_store.records)
        expect(
            [r.uid for r in stored] == [record.uid],
            "records-round-trip",
            "records() returns what put_record stored",
            f"after one put_record, records() returned uids {[r.uid for r in stored]}",
        )
        attributes = ("uid", "kind", "provider", "plugin", "spec", "spec_hash", "outputs")
        changed = [
            a for a in (*attributes, "physical_name") if getattr(stored[0], a) != getattr(record, a)
        ]
        expect(
            not changed,
            "records-round-trip",
            "records() returns every field put_record stored, unchanged",
            f"fields {', '.join(changed)} came back changed",
        )
        changed_record = self._record(outputs={"host": "10.0.0.1"})
        call("put_record() of a changed record", state_store.put_record, changed_record)
        outputs = [r.outputs for r in call("records()", state_store.records)]
        expect(
            outputs == [{"host": "10.0.0.1"}],
            "put-record-replaces",
            "put_record of an existing uid replaces its record",
            f"records() then held outputs {outputs}",
        )
        call("delete_record()", state_store.delete_record, record.uid)
        left = [r.uid for r in call("records()", state_store.records)]
        expect(
            left == [],
            "delete-record-removes",
            "delete_record removes the record",
            f"records() still returned {left}",
        )

    def test_intents_stay_pending_until_completed(self, state_store: Any) -> None:
        from podium.platform.contract import Intent

        intent = Intent(node="resource:x", action="create", spec={"p": 1}, run_id="run-1")
        intent_id = call("begin_intent()", state_store.begin_intent, intent)
        pending = [
            (i.id, i.node, i.action) for i in call("pending_intents()", state_store.pending_intents)
        ]
        requires = "an intent stays pending from begin_intent until complete_intent"
        expect(
            pending == [(intent_id, "resource:x", "create")],
            "intents-stay-pending",
            requires,
            f"after begin_intent, pending_intents (id, node, action) returned {pending}",
        )
        call(
            "complete_intent(record=...)",
            state_store.complete_intent,
            intent_id,
            record=self._record("resource:x"),
        )
        left = call("pending_intents()", state_store.pending_intents)
        expect(
            left == [],
            "intents-stay-pending",
            requires,
            f"{len(left)} pending after complete_intent",
        )
        uids = [r.uid for r in call("records()", state_store.records)]
        expect(
            uids == ["resource:x"],
            "complete-intent-writes-the-record",
            "complete_intent(record=...) writes the record with closing the intent",
            f"records() returned uids {uids}",
        )
        second = call(
            "begin_intent()",
            state_store.begin_intent,
            Intent(node="resource:x", action="delete", spec={}, run_id="run-2"),
        )
        call(
            "complete_intent(delete_uid=...)",
            state_store.complete_intent,
            second,
            delete_uid="resource:x",
        )
        left = call("pending_intents()", state_store.pending_intents)
        expect(
            left == [],
            "intents-stay-pending",
            requires,
            f"{len(left)} pending after complete_intent",
        )
        uids = [r.uid for r in call("records()", state_store.records)]
        expect(
            uids == [],
            "complete-intent-deletes-the-record",
            "complete_intent(delete_uid=...) removes the record with closing the intent",
            f"records() returned uids {uids}",
        )

    def test_generated_values(self, state_store: Any) -> None:
        requires = (
            "get_generated returns what put_generated stored, None once forgotten or never put"
        )
        found = call(
            "get_generated() of a value never put",
            state_store.get_generated,
            "resource:x",
            "password",
        )
        expect(
            found is None,
            "generated-values",
            requires,
            f"a value never put came back as {describe(found)}",
        )
        call("put_generated()", state_store.put_generated, "resource:x", "password", "token-1")
        found = call("get_generated()", state_store.get_generated, "resource:x", "password")
        expect(
            found == "token-1", "generated-values", requires, f"get_generated returned {found!r}"
        )
        call("forget_generated()", state_store.forget_generated, "resource:x")
        found = call(
            "get_generated() after forget", state_store.get_generated, "resource:x", "password"
        )
        expect(found is None, "generated-values", requires, "the value survived forget_generated")

    def test_lock_contention_raises_locked(self, state_store: Any) -> None:
        call("acquire_lock(run-a)", state_store.acquire_lock, self._lock("run-a"))
        try:
            state_store.acquire_lock(self._lock("run-b"))
        except LockedError:
            pass
        except Exception as exc:
            broken(
                "lock-contention",
                "acquire_lock of a held lock raises LockedError",
                f"it raised {type(exc).__name__}: {redact_text(str(exc))}",
            )
        else:
            broken(
                "lock-contention",
                "acquire_lock of a held lock raises LockedError",
                "run-b took the lock run-a holds",
            )
        holder = self._holder(state_store, "while run-a holds it")
        expect(
            holder == "run-a",
            "lock-info",
            "lock_info names the holder",
            f"lock_info named {holder!r}",
        )
        call("release_lock(run-a)", state_store.release_lock, "run-a")
        holder = self._holder(state_store, "after release")
        expect(
            holder is None,
            "release-lock",
            "release_lock frees the lock",
            f"lock_info still names {holder!r}",
        )
        call("acquire_lock(run-b) after release", state_store.acquire_lock, self._lock("run-b"))
        call("release_lock(run-b)", state_store.release_lock, "run-b")

    def test_expired_lease_can_be_taken(self, state_store: Any) -> None:
        call(
            "acquire_lock(run-old, expired)",
            state_store.acquire_lock,
            self._lock("run-old", ttl=-1.0),
        )
        call(
            "acquire_lock(run-new) over an expired lease",
            state_store.acquire_lock,
            self._lock("run-new"),
        )
        holder = self._holder(state_store, "after taking an expired lease")
        expect(
            holder == "run-new",
            "expired-lease",
            "an expired lease can be taken by another run",
            f"lock_info names {holder!r}",
        )
        call("release_lock(run-new)", state_store.release_lock, "run-new")

    def test_force_unlock_returns_the_holder(self, state_store: Any) -> None:
        call("acquire_lock(run-a)", state_store.acquire_lock, self._lock("run-a"))
        removed = call("force_unlock()", state_store.force_unlock)
        requires = "force_unlock removes the lock and returns the LockInfo it removed"
        expect(
            removed is not None and removed.run_id == "run-a",
            "force-unlock",
            requires,
            f"it returned {removed!r}",
        )
        holder = self._holder(state_store, "after force_unlock")
        expect(holder is None, "force-unlock", requires, f"lock_info still names {holder!r}")

    def test_history_is_numbered_most_recent_first(self, state_store: Any) -> None:
        first = call(
            "add_history()", state_store.add_history, {"operation": "apply", "status": "running"}
        )
        second = call(
            "add_history()", state_store.add_history, {"operation": "destroy", "status": "running"}
        )
        expect(
            second > first,
            "history-numbering",
            "history entry ids increase",
            f"ids {first} then {second}",
        )
        call(
            "update_history()",
            state_store.update_history,
            first,
            {"operation": "apply", "status": "succeeded"},
        )
        entries = call("history()", state_store.history)
        ids = [e["id"] for e in entries]
        expect(
            ids == [second, first],
            "history-order",
            "history() lists entries most recent first, with their ids",
            f"ids {ids}",
        )
        expect(
            entries[1]["status"] == "succeeded",
            "update-history",
            "update_history replaces an entry",
            f"the entry's status is {entries[1]['status']!r}",
        )
        limited = call("history(limit=1)", state_store.history, limit=1)
        expect(
            len(limited) == 1,
            "history-limit",
            "history(limit=N) returns at most N entries",
            f"it returned {len(limited)}",
        )

    def test_releases_are_numbered_per_workload(self, state_store: Any) -> None:
        numbers = [
            call(f"add_release({w!r})", state_store.add_release, w, {"deployer": "x"})
            for w in ("web", "web", "worker")
        ]
        requires = "release numbers count from 1 per workload"
        expect(
            numbers == [1, 2, 1], "release-numbering", requires, f"web, web, worker got {numbers}"
        )
        listed = [r["number"] for r in call("releases('web')", state_store.releases, "web")]
        expect(
            listed == [1, 2],
            "release-listing",
            "releases(workload) lists its releases oldest first",
            f"releases('web') listed {listed}",
        )
        none = call("releases('nothing')", state_store.releases, "nothing")
        expect(
            none == [],
            "release-listing",
            "releases of a workload never released is []",
            f"it returned {len(none)} entries",
        )
