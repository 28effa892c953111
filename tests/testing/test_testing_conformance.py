"""The conformance kits pass for implementations that keep the contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kit_samples import (
    DirectoryProvisioner,
    ProcessDeployer,
    count_directories,
    interrupt_directory_create,
)
from sink_samples import BufferedFileSink, delivered_lines

from podium.security.contract import SecretStore
from podium.testing.conformance import (
    DeployerConformance,
    PolicyPackConformance,
    ProvisionerConformance,
    SecretStoreConformance,
    StateBackendConformance,
    TelemetrySinkConformance,
)


class TestDirectoryProvisioner(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> DirectoryProvisioner:
        return DirectoryProvisioner()

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {"size": 2}

    @pytest.fixture
    def count_resources(self) -> Callable[[Any], int]:
        return lambda ctx: count_directories(Path(ctx.env.state_dir) / "volumes")

    @pytest.fixture
    def interrupt_create(self) -> Callable[[Any, Any], None]:
        return interrupt_directory_create

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        def provoke(provisioner: DirectoryProvisioner, make_context: Callable[..., Any]) -> None:
            provisioner.create(make_context("bad", params={"size": 0}))

        return provoke


class TestProcessDeployer(DeployerConformance):
    @pytest.fixture
    def deployer(self) -> ProcessDeployer:
        return ProcessDeployer()


class TestLocalSecretStore(SecretStoreConformance):
    @pytest.fixture
    def secret_store(self, tmp_path: Path) -> SecretStore:
        from podium.security.crypto import StateCipher, generate_key
        from podium.security.local_store import LocalSecretStore

        return LocalSecretStore(tmp_path / "secrets.db", StateCipher(generate_key()))


class TestBuiltinPolicies(PolicyPackConformance):
    @pytest.fixture
    def policy_pack(self) -> Any:
        from podium.security.policies import BuiltinPolicies

        return BuiltinPolicies()

    def test_the_sample_workload_produces_findings(
        self, policy_pack: Any, policy_workloads: list[Any], policy_environments: list[Any]
    ) -> None:
        # Proves the shape checks above ran over real findings, not an empty list.
        assert self._findings(policy_pack, policy_workloads, policy_environments)


class TestSqliteStateBackend(StateBackendConformance):
    @pytest.fixture
    def state_backend(self) -> Any:
        from podium.state import SqliteStateBackend

        return SqliteStateBackend()


class TestBufferedFileSink(TelemetrySinkConformance):
    @pytest.fixture
    def telemetry_sink(self, tmp_path: Path) -> BufferedFileSink:
        return BufferedFileSink(tmp_path / "events.jsonl")

    @pytest.fixture
    def delivered_events(self) -> Callable[[BufferedFileSink], list[str]]:
        return delivered_lines

    @pytest.fixture
    def break_delivery(self) -> Callable[[BufferedFileSink], None]:
        def into_a_missing_directory(sink: BufferedFileSink) -> None:
            sink.path = sink.path.parent / "removed" / "events.jsonl"
            sink.buffer = ["queued"] * 99  # the next emit flushes, into the missing directory

        return into_a_missing_directory
