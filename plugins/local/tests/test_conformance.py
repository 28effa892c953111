"""Every registration podium-local makes, through the core's conformance kit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import stop_everything

from podium.plugin import EnvironmentInfo, Secret
from podium.testing.conformance import (
    DeployerConformance,
    ProvisionerConformance,
)
from podium_local.deploy.deployer import LocalDeployer
from podium_local.provisioners.basic import (
    DnsProvisioner,
    EnvironmentProvisioner,
    ServicePortProvisioner,
    VolumeProvisioner,
)
from podium_local.provisioners.postgres import PostgresProvisioner
from podium_local.provisioners.redis import RedisProvisioner
from podium_local.provisioners.route import RouteProvisioner
from podium_local.provisioners.secret import SecretProvisioner
from podium_local.settings import Settings


@pytest.fixture(autouse=True)
def _stop_servers(podium_env: EnvironmentInfo) -> Iterator[None]:
    yield
    stop_everything(podium_env)


def _missing_binary(settings: Settings) -> Callable[..., Any]:
    def provoke(provisioner: Any, make_context: Callable[..., Any]) -> None:
        type(provisioner)(settings).create(make_context("broken"))

    return provoke


def _read(provisioner: Any) -> Callable[[Any], Any]:
    """Observe a reference provisioner's resource: what read reports for it now."""
    return lambda ctx: provisioner.read(ctx)


@pytest.mark.postgres
class TestPostgres(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> PostgresProvisioner:
        return PostgresProvisioner()

    @pytest.fixture
    def interrupt_create(self) -> Callable[[PostgresProvisioner, Any], None]:
        def killed_after_the_role(provisioner: PostgresProvisioner, ctx: Any) -> None:
            """What a create killed between CREATE ROLE and CREATE DATABASE leaves."""
            from psycopg import sql

            from podium_local.provisioners.postgres import identifier
            from podium_local.servers.postgres_cluster import PostgresCluster

            name = identifier(ctx.physical_name)
            password = ctx.generate_secret("password").reveal()
            cluster = PostgresCluster(ctx.env, provisioner.settings)
            with cluster.locked(), cluster.admin() as (conn, _port):
                conn.execute(
                    sql.SQL("CREATE ROLE {} WITH LOGIN PASSWORD {}").format(
                        sql.Identifier(name), sql.Literal(password)
                    )
                )

        return killed_after_the_role

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        return _missing_binary(Settings(postgres_bin_dir="/nonexistent"))


@pytest.mark.redis
class TestRedis(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> RedisProvisioner:
        return RedisProvisioner()

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        return _missing_binary(Settings(redis_server="/nonexistent/redis-server"))


class TestVolume(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> VolumeProvisioner:
        return VolumeProvisioner()


class TestEnvironment(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> EnvironmentProvisioner:
        return EnvironmentProvisioner()

    @pytest.fixture
    def param_updates(
        self, provisioner: EnvironmentProvisioner, monkeypatch: pytest.MonkeyPatch
    ) -> dict[str, tuple[Any, Any, Callable[[Any], Any]]]:
        for name in ("KIT_ONE", "KIT_TWO", "OTHER_THREE"):
            monkeypatch.setenv(name, name.lower())
        return {
            "allow": (["KIT_ONE"], ["KIT_TWO"], _read(provisioner)),
            "prefix": ("KIT_", "OTHER_", _read(provisioner)),
        }

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        def provoke(provisioner: Any, make_context: Callable[..., Any]) -> None:
            provisioner.create(make_context("broken", params={"file": "/nonexistent/.env"}))

        return provoke


class TestDns(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> DnsProvisioner:
        return DnsProvisioner()

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        def provoke(provisioner: Any, make_context: Callable[..., Any]) -> None:
            provisioner.create(make_context("broken", params={"name": "not a host!"}))

        return provoke

    @pytest.fixture
    def param_updates(
        self, provisioner: DnsProvisioner
    ) -> dict[str, tuple[Any, Any, Callable[[Any], Any]]]:
        return {"name": ("shop", "store", _read(provisioner))}


class TestServicePort(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> ServicePortProvisioner:
        return ServicePortProvisioner()

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {"workload": "backend", "port": "http"}

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        def provoke(provisioner: Any, make_context: Callable[..., Any]) -> None:
            provisioner.create(make_context("broken", params={}))  # no workload, no port

        return provoke

    @pytest.fixture
    def param_updates(
        self, provisioner: ServicePortProvisioner
    ) -> dict[str, tuple[Any, Any, Callable[[Any], Any]]]:
        return {
            "workload": ("backend", "frontend", _read(provisioner)),
            "port": ("http", "8081", _read(provisioner)),
        }


@pytest.mark.nginx
class TestRoute(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> RouteProvisioner:
        return RouteProvisioner()

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {"host": "shop.localhost", "path": "/", "port": 8080, "workload": "web"}

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        return _missing_binary(Settings(nginx="/nonexistent/nginx"))

    @pytest.fixture
    def param_updates(
        self, provisioner: RouteProvisioner
    ) -> dict[str, tuple[Any, Any, Callable[[Any], Any]]]:
        from podium_local.servers.nginx_proxy import NginxProxy

        def routed(ctx: Any) -> Any:
            """The route nginx serves, as the proxy stored it."""
            return NginxProxy(ctx.env, provisioner.settings).routes().get(ctx.uid)

        return {
            "host": ("shop.localhost", "store.localhost", routed),
            "path": ("/", "/api", routed),
            "port": (8080, 8081, routed),
            "workload": ("web", "api", routed),
        }


class TestSecret(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self, podium_env: EnvironmentInfo) -> Iterator[SecretProvisioner]:
        from podium.plugin import LocalSecretStore

        store = LocalSecretStore.in_state_dir(podium_env.state_dir.parent)
        store.put("conformance/token", Secret("s3cret"))
        store.close()
        yield SecretProvisioner()

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {"key": "conformance/token"}

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        def provoke(provisioner: Any, make_context: Callable[..., Any]) -> None:
            provisioner.create(make_context("broken", params={"key": "not/set"}))

        return provoke

    @pytest.fixture
    def param_updates(
        self, provisioner: SecretProvisioner, podium_env: EnvironmentInfo
    ) -> dict[str, tuple[Any, Any, Callable[[Any], Any]]]:
        from podium.plugin import LocalSecretStore

        store = LocalSecretStore.in_state_dir(podium_env.state_dir.parent)
        store.put("conformance/other", Secret("an0ther"))
        store.close()

        def value(ctx: Any) -> Any:
            outputs = provisioner.read(ctx)
            return outputs and outputs["value"].reveal()

        return {"key": ("conformance/token", "conformance/other", value)}


class TestLocalDeployer(DeployerConformance):
    @pytest.fixture
    def deployer(self) -> LocalDeployer:
        return LocalDeployer(Settings(readiness_timeout=20))
