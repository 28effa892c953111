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
:mod:`podium.testing.pytest_plugin`, which pytest loads automatically. The
provisioner, deployer, state-backend and telemetry-sink kits live in modules of
their own and are imported from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

import pytest

from podium.errors import NotFoundError
from podium.platform.context import EnvironmentInfo
from podium.security.secret import Secret
from podium.testing._report import broken, call, describe, expect, valid_name
from podium.testing.deployer_kit import DeployerConformance, KitWorkloads
from podium.testing.process_deployer_kit import ProcessDeployerConformance
from podium.testing.provisioner_kit import (
    ProvisionerConformance,
    declared_outputs,
    declared_secrets,
)
from podium.testing.state_kit import StateBackendConformance
from podium.testing.telemetry_kit import TelemetrySinkConformance

__all__ = [
    "DeployerConformance",
    "KitWorkloads",
    "PolicyPackConformance",
    "ProcessDeployerConformance",
    "ProvisionerConformance",
    "SecretStoreConformance",
    "StateBackendConformance",
    "TelemetrySinkConformance",
    "declared_outputs",
    "declared_secrets",
]


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
