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
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from podium.errors import LockedError, NotFoundError, PodiumError, ResourceError, TransientError
from podium.platform.context import EnvironmentInfo, validate_name
from podium.security.secret import Secret

#: Output keys that look like they hold a secret; their values must never be plain ``str``.
SECRET_LOOKING = re.compile(r"(password|passwd|secret|token|(^|[_-])key$|private|credential)", re.I)


def _secret_looking_plain(outputs: Mapping[str, Any]) -> list[str]:
    return sorted(
        key
        for key, value in outputs.items()
        if SECRET_LOOKING.search(key) and isinstance(value, str) and value
    )


# --------------------------------------------------------------------- provisioner
class ProvisionerConformance:
    """The :class:`~podium.provisioning.Provisioner` contract.

    Provide ``provisioner``. Optional fixtures: ``resource_params`` (params for the
    test resource), ``provoke_error`` (a function ``(provisioner, make_context)``
    that makes the provisioner fail, to check the failure is typed) and
    ``count_resources`` (a function ``(ctx) -> int`` counting real resources for
    ``ctx``, to prove a second create made no second resource).
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
        provisioner.delete(ctx)

    def test_registration_name_is_valid(self, provisioner: Any) -> None:
        validate_name(provisioner.name, "provisioner")
        assert isinstance(provisioner.resource_type, str) and provisioner.resource_type
        assert provisioner.handles(provisioner.resource_type, "default") or (
            "*" not in provisioner.resource_classes
        )

    def test_create_twice_is_idempotent(
        self, provisioner: Any, resource: Any, count_resources: Callable[[Any], int] | None
    ) -> None:
        first = provisioner.create(resource)
        second = provisioner.create(resource)
        assert second == first, "a second create of the same resource returned other outputs"
        if count_resources is not None:
            assert count_resources(resource) == 1, "a second create made a second resource"

    def test_read_after_create_returns_outputs(self, provisioner: Any, resource: Any) -> None:
        outputs = provisioner.create(resource)
        assert provisioner.read(resource) == outputs

    def test_read_of_missing_resource_is_none(
        self, provisioner: Any, make_context: Callable[..., Any]
    ) -> None:
        ctx = make_context(f"never-created-{uuid.uuid4().hex[:6]}")
        assert provisioner.read(ctx) is None

    def test_delete_of_missing_resource_succeeds(
        self, provisioner: Any, make_context: Callable[..., Any]
    ) -> None:
        provisioner.delete(make_context(f"never-created-{uuid.uuid4().hex[:6]}"))

    def test_delete_then_read_is_none(self, provisioner: Any, resource: Any) -> None:
        provisioner.create(resource)
        provisioner.delete(resource)
        assert provisioner.read(resource) is None
        provisioner.delete(resource)  # a second delete is a delete of a missing resource

    def test_secret_outputs_are_secret(self, provisioner: Any, resource: Any) -> None:
        outputs = provisioner.create(resource)
        assert isinstance(outputs, Mapping), "create must return a mapping of outputs"
        for key in provisioner.secret_outputs:
            assert key in outputs, f"secret output {key!r} is declared but not returned"
            assert isinstance(outputs[key], Secret), f"secret output {key!r} is not a Secret"
        plain = _secret_looking_plain(outputs)
        assert not plain, f"outputs {plain} look secret but are plain str; return Secret(...)"

    def test_failures_are_typed(
        self,
        provisioner: Any,
        make_context: Callable[..., Any],
        provoke_error: Callable[..., Any] | None,
    ) -> None:
        if provoke_error is None:
            pytest.skip("provide a provoke_error fixture to check the provisioner's errors")
        with pytest.raises(PodiumError) as raised:
            provoke_error(provisioner, make_context)
        assert isinstance(raised.value, TransientError | ResourceError), (
            f"raise TransientError (retried) or ResourceError, not {type(raised.value).__name__}"
        )


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
        result = deployer.deploy(deploy_context, rendered_workload)
        yield result
        deployer.destroy(deploy_context)

    def test_registration_name_is_valid(self, deployer: Any) -> None:
        validate_name(deployer.name, "deployer")

    def test_deploy_returns_a_result(self, deployed: Any) -> None:
        from podium.deployment.contract import DeploymentResult

        assert isinstance(deployed, DeploymentResult)

    def test_status_after_deploy_is_not_absent(
        self, deployer: Any, deploy_context: Any, deployed: Any
    ) -> None:
        from podium.deployment.contract import WorkloadStatus

        status = deployer.status(deploy_context)
        assert isinstance(status, WorkloadStatus)
        assert status.workload == deploy_context.workload
        assert status.state != "absent"

    def test_redeploy_is_accepted(
        self, deployer: Any, deploy_context: Any, rendered_workload: Any, deployed: Any
    ) -> None:
        next_release = replace(deploy_context, release=deploy_context.release + 1)
        deployer.deploy(next_release, rendered_workload)
        assert deployer.status(next_release).state != "absent"

    def test_logs_is_an_iterator_of_log_lines(
        self, deployer: Any, deploy_context: Any, deployed: Any
    ) -> None:
        from podium.deployment.contract import LogLine

        lines = list(deployer.logs(deploy_context, tail=10))
        assert all(isinstance(line, LogLine) for line in lines)

    def test_destroy_then_status_is_absent(
        self, deployer: Any, deploy_context: Any, rendered_workload: Any
    ) -> None:
        deployer.deploy(deploy_context, rendered_workload)
        deployer.destroy(deploy_context)
        assert deployer.status(deploy_context).state == "absent"

    def test_destroy_of_nothing_succeeds(self, deployer: Any, podium_env: EnvironmentInfo) -> None:
        from podium.deployment.contract import DeployContext

        deployer.destroy(DeployContext(workload=f"never-{uuid.uuid4().hex[:6]}", env=podium_env))


# -------------------------------------------------------------------- secret store
class SecretStoreConformance:
    """The :class:`~podium.security.SecretStore` contract. Provide ``secret_store``."""

    @pytest.fixture
    def secret_key(self, secret_store: Any) -> Iterator[str]:
        key = f"conformance/{uuid.uuid4().hex[:8]}"
        yield key
        secret_store.delete(key)

    def test_registration_name_is_valid(self, secret_store: Any) -> None:
        validate_name(secret_store.name, "secret store")

    def test_put_then_get_returns_a_secret(self, secret_store: Any, secret_key: str) -> None:
        secret_store.put(secret_key, Secret("s3cr3t value"))
        value = secret_store.get(secret_key)
        assert isinstance(value, Secret), "get must return a Secret, never a plain str"
        assert value.reveal() == "s3cr3t value"

    def test_put_overwrites(self, secret_store: Any, secret_key: str) -> None:
        secret_store.put(secret_key, Secret("first"))
        secret_store.put(secret_key, Secret("second"))
        assert secret_store.get(secret_key).reveal() == "second"

    def test_get_of_missing_key_raises_not_found(self, secret_store: Any) -> None:
        with pytest.raises(NotFoundError):
            secret_store.get(f"conformance/missing-{uuid.uuid4().hex[:8]}")

    def test_delete_of_missing_key_succeeds(self, secret_store: Any) -> None:
        secret_store.delete(f"conformance/missing-{uuid.uuid4().hex[:8]}")

    def test_delete_then_get_raises_not_found(self, secret_store: Any, secret_key: str) -> None:
        secret_store.put(secret_key, Secret("short-lived"))
        secret_store.delete(secret_key)
        with pytest.raises(NotFoundError):
            secret_store.get(secret_key)

    def test_list_is_sorted_and_holds_the_key_when_supported(
        self, secret_store: Any, secret_key: str
    ) -> None:
        secret_store.put(secret_key, Secret("listed"))
        keys = secret_store.list()
        assert keys == sorted(keys)
        if keys:  # stores that cannot list return []
            assert secret_key in keys

    def test_values_never_show_in_repr(self, secret_store: Any, secret_key: str) -> None:
        secret_store.put(secret_key, Secret("do-not-print-me"))
        value = secret_store.get(secret_key)
        assert "do-not-print-me" not in repr(value) + str(value) + f"{value}"


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
        return [f for w in workloads for e in envs for f in pack.check_workload(w, e)]

    def test_registration_name_is_valid(self, policy_pack: Any) -> None:
        validate_name(policy_pack.name, "policy pack")

    def test_findings_are_findings_named_after_the_pack(
        self, policy_pack: Any, policy_workloads: list[Any], policy_environments: list[Any]
    ) -> None:
        from podium.security.contract import Finding

        for finding in self._findings(policy_pack, policy_workloads, policy_environments):
            assert isinstance(finding, Finding), f"{finding!r} is not a Finding"
            assert finding.policy.startswith(policy_pack.name + "."), (
                f"finding policy {finding.policy!r} must start with {policy_pack.name + '.'!r}"
            )
            assert finding.level in ("advisory", "mandatory")
            assert finding.message

    def test_checks_are_repeatable(
        self, policy_pack: Any, policy_workloads: list[Any], policy_environments: list[Any]
    ) -> None:
        first = self._findings(policy_pack, policy_workloads, policy_environments)
        again = self._findings(policy_pack, policy_workloads, policy_environments)
        assert first == again

    def test_findings_never_quote_secret_values(
        self, policy_pack: Any, policy_workloads: list[Any], policy_environments: list[Any]
    ) -> None:
        for finding in self._findings(policy_pack, policy_workloads, policy_environments):
            assert "plain-text-password" not in finding.message


# ------------------------------------------------------------------- state backend
class StateBackendConformance:
    """The :class:`~podium.platform.StateBackend` contract.

    Provide ``state_backend``; override ``state_options`` for its ``[state] options``.
    """

    @pytest.fixture
    def state_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def state_store(
        self, state_backend: Any, podium_env: EnvironmentInfo, state_options: dict[str, Any]
    ) -> Iterator[Any]:
        store = state_backend.open(podium_env, dict(state_options))
        yield store
        store.close()

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

    def test_registration_name_is_valid(self, state_backend: Any) -> None:
        validate_name(state_backend.name, "state backend")

    def test_records_round_trip(self, state_store: Any) -> None:
        serial = state_store.serial()
        record = self._record()
        state_store.put_record(record)
        assert state_store.serial() > serial
        [stored] = state_store.records()
        for attribute in ("uid", "kind", "provider", "plugin", "spec", "spec_hash", "outputs"):
            assert getattr(stored, attribute) == getattr(record, attribute), attribute
        assert stored.physical_name == record.physical_name
        changed = self._record(outputs={"host": "10.0.0.1"})
        state_store.put_record(changed)
        assert [r.outputs for r in state_store.records()] == [{"host": "10.0.0.1"}]
        state_store.delete_record(record.uid)
        assert state_store.records() == []

    def test_record_owner_round_trips(self, state_store: Any) -> None:
        # Ownership checks read the owner back: a backend that drops it lets any team
        # take over another's workloads.
        from podium.platform.contract import Intent, IntentOutcome

        state_store.put_record(self._record(owner="teams/payments"))
        state_store.put_record(self._record("deployment:web", kind="deployment"))
        owners = {r.uid: r.owner for r in state_store.records()}
        assert owners == {
            "resource:postgres.default#web.db": "teams/payments",
            "deployment:web": None,
        }
        [intent_id] = state_store.begin_intents(
            [Intent(node="deployment:web", action="deploy", spec={}, run_id="run-1")]
        )
        state_store.complete_intents(
            [IntentOutcome(intent_id, record=self._record("deployment:web", owner="payments"))]
        )
        assert {r.uid: r.owner for r in state_store.records()}["deployment:web"] == "payments"

    def test_intents_stay_pending_until_completed(self, state_store: Any) -> None:
        from podium.platform.contract import Intent

        intent = Intent(node="resource:x", action="create", spec={"p": 1}, run_id="run-1")
        intent_id = state_store.begin_intent(intent)
        pending = state_store.pending_intents()
        assert [(i.id, i.node, i.action) for i in pending] == [(intent_id, "resource:x", "create")]
        state_store.complete_intent(intent_id, record=self._record("resource:x"))
        assert state_store.pending_intents() == []
        assert [r.uid for r in state_store.records()] == ["resource:x"]
        second = state_store.begin_intent(
            Intent(node="resource:x", action="delete", spec={}, run_id="run-2")
        )
        state_store.complete_intent(second, delete_uid="resource:x")
        assert state_store.pending_intents() == []
        assert state_store.records() == []

    def test_generated_values(self, state_store: Any) -> None:
        assert state_store.get_generated("resource:x", "password") is None
        state_store.put_generated("resource:x", "password", "token-1")
        assert state_store.get_generated("resource:x", "password") == "token-1"
        state_store.forget_generated("resource:x")
        assert state_store.get_generated("resource:x", "password") is None

    def test_key_check_is_kept_and_refuses_another_key(
        self,
        state_store: Any,
        state_backend: Any,
        podium_env: EnvironmentInfo,
        state_options: dict[str, Any],
    ) -> None:
        """The core keeps its key check as a generated value; it must survive a reopen
        and must not move the serial (a saved plan stays applicable)."""
        from podium.errors import StateError
        from podium.security.crypto import StateCipher, generate_key
        from podium.security.key_check import bind_store_key

        right = StateCipher(generate_key(), source="the right key")
        wrong = StateCipher(generate_key(), source="the wrong key")
        serial = state_store.serial()
        assert bind_store_key(state_store, "conformance", lambda create: right) is right
        assert state_store.serial() == serial
        state_store.forget_generated("resource:x")  # another node's values: the check stays
        reopened = state_backend.open(podium_env, dict(state_options))
        try:
            with pytest.raises(StateError, match="the wrong key does not match"):
                bind_store_key(reopened, "conformance", lambda create: wrong)
            assert bind_store_key(reopened, "conformance", lambda create: right) is right
        finally:
            reopened.close()

    def test_lock_contention_raises_locked(self, state_store: Any) -> None:
        state_store.acquire_lock(self._lock("run-a"))
        with pytest.raises(LockedError):
            state_store.acquire_lock(self._lock("run-b"))
        info = state_store.lock_info()
        assert info is not None and info.run_id == "run-a"
        state_store.release_lock("run-a")
        assert state_store.lock_info() is None
        state_store.acquire_lock(self._lock("run-b"))
        state_store.release_lock("run-b")

    def test_expired_lease_can_be_taken(self, state_store: Any) -> None:
        state_store.acquire_lock(self._lock("run-old", ttl=-1.0))
        state_store.acquire_lock(self._lock("run-new"))
        info = state_store.lock_info()
        assert info is not None and info.run_id == "run-new"
        state_store.release_lock("run-new")

    def test_force_unlock_returns_the_holder(self, state_store: Any) -> None:
        state_store.acquire_lock(self._lock("run-a"))
        removed = state_store.force_unlock()
        assert removed is not None and removed.run_id == "run-a"
        assert state_store.lock_info() is None

    def test_history_is_numbered_most_recent_first(self, state_store: Any) -> None:
        first = state_store.add_history({"operation": "apply", "status": "running"})
        second = state_store.add_history({"operation": "destroy", "status": "running"})
        assert second > first
        state_store.update_history(first, {"operation": "apply", "status": "succeeded"})
        entries = state_store.history()
        assert [e["id"] for e in entries] == [second, first]
        assert entries[1]["status"] == "succeeded"
        assert len(state_store.history(limit=1)) == 1

    def test_releases_are_numbered_per_workload(self, state_store: Any) -> None:
        assert state_store.add_release("web", {"deployer": "x"}) == 1
        assert state_store.add_release("web", {"deployer": "x"}) == 2
        assert state_store.add_release("worker", {"deployer": "x"}) == 1
        assert [r["number"] for r in state_store.releases("web")] == [1, 2]
        assert state_store.releases("nothing") == []
