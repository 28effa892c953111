"""openbao-postgres against a real OpenBao dev server and a real PostgreSQL cluster.

The credentials OpenBao issues really log in, really stop working when their
lease ends, are replaced on every update (the old ones cut to the grace period),
and are revoked, their users dropped, when the resource is deleted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import Bao

from podium.plugin import EnvironmentInfo, ResourceContext, Secret
from podium.testing import require
from podium_local.binaries import postgres_bin_dirs
from podium_openbao.client import OpenBao
from podium_openbao.provisioners.postgres import OpenBaoPostgresProvisioner
from podium_openbao.settings import Settings

MakeCtx = Callable[..., ResourceContext]


def _require_postgres() -> None:
    require("initdb", search=postgres_bin_dirs())


@pytest.fixture
def env(tmp_path: Path) -> Iterator[EnvironmentInfo]:
    _require_postgres()
    info = EnvironmentInfo(
        platform="dyn" + uuid.uuid4().hex[:6], environment="dev", state_dir=tmp_path / "dev"
    )
    yield info
    from podium_local.servers.postgres_cluster import PostgresCluster
    from podium_local.settings import Settings as LocalSettings

    cluster = PostgresCluster(info, LocalSettings())
    if cluster.home.exists():
        with cluster.locked():
            cluster.stop_and_remove()


@pytest.fixture
def make_ctx(env: EnvironmentInfo) -> MakeCtx:
    """Contexts whose generated secrets are stable, as the core journals them."""
    journal: dict[tuple[str, str], str] = {}

    def make(name: str = "db", **params: Any) -> ResourceContext:
        uid = f"postgres.default#app.{name}"

        def generate(key: str, factory: Callable[[], str]) -> Secret:
            return Secret(journal.setdefault((uid, key), factory()))

        return ResourceContext(
            uid=uid,
            type="postgres",
            resource_class="default",
            id=None,
            workload="app",
            params=params,
            physical_name=env.physical_name(uid),
            env=env,
            _generator=generate,
        )

    return make


def provisioner(bao: Bao, **settings: Any) -> OpenBaoPostgresProvisioner:
    values: dict[str, Any] = {"address": bao.address, "token": bao.token, **settings}
    return OpenBaoPostgresProvisioner(OpenBao(Settings(**values)))


def connect(outputs: dict[str, Any]) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=outputs["host"],
        port=outputs["port"],
        dbname=outputs["name"],
        user=outputs["username"],
        password=outputs["password"].reveal(),
        connect_timeout=5,
    )


def logs_in(outputs: dict[str, Any]) -> bool:
    try:
        with connect(outputs) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def role_exists(outputs: dict[str, Any], username: str) -> bool:
    with connect(outputs) as conn:
        found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,))
        return found.fetchone() is not None


def test_bao_dev_server_ships_the_postgresql_plugin(bao: Bao) -> None:
    listed = bao.client().adapter.list("/v1/sys/plugins/catalog/database")
    assert "postgresql-database-plugin" in listed["data"]["keys"]


def test_credentials_log_in_rotate_and_are_revoked_on_delete(bao: Bao, make_ctx: MakeCtx) -> None:
    prov = provisioner(bao)
    ctx, other = make_ctx("db"), make_ctx("other")
    first = prov.create(ctx)
    kept = prov.create(other)  # keeps the cluster running after db is deleted
    try:
        assert first["username"] != first["name"]  # a user of its own, not the owner role
        assert logs_in(first)
        # What a release creates belongs to the database's owner, not to its user.
        with connect(first) as conn:
            conn.execute("CREATE TABLE orders (id int)")
            owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'orders'")
            assert owner.fetchone() == (first["name"],)
        assert prov.create(ctx)["username"] == first["username"]  # retried create: same lease
        assert prov.read(ctx) == {**first, "password": first["password"], "uri": first["uri"]}

        second = prov.update(ctx, first)  # a new release: new credentials
        assert second["username"] != first["username"]
        assert second["lease_id"] != first["lease_id"]
        assert logs_in(second)
        with connect(second) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        # The replaced lease keeps only the grace period (default 300 s).
        left = bao.client().sys.read_lease(lease_id=first["lease_id"])["data"]["ttl"]
        assert 0 < left <= 300
        assert prov.read(ctx)["lease_id"] == second["lease_id"]

        prov.delete(ctx)
        # Revoked: OpenBao forgot the leases and dropped both users.
        for lease in (first["lease_id"], second["lease_id"]):
            with pytest.raises(Exception, match="invalid lease"):
                bao.client().sys.read_lease(lease_id=lease)
        assert not role_exists(kept, first["username"])
        assert not role_exists(kept, second["username"])
        assert not logs_in(second)
        assert prov.read(ctx) is None
        prov.delete(ctx)  # deleting again succeeds
    finally:
        prov.delete(other)


def test_credentials_expire_with_their_lease_and_read_asks_for_new_ones(
    bao: Bao, make_ctx: MakeCtx
) -> None:
    prov = provisioner(bao, lease_ttl="4s", lease_max_ttl="4s")
    ctx = make_ctx("short")
    issued = prov.create(ctx)
    try:
        assert logs_in(issued)
        deadline = time.monotonic() + 90
        while logs_in(issued):
            assert time.monotonic() < deadline, "the credentials outlived their lease"
            time.sleep(0.5)
        # Ended: a refresh sees it (drift on lease_id), and the update issues new ones.
        found = prov.read(ctx)
        assert found is not None and found["lease_id"] == ""
        fresh = prov.update(ctx, issued)
        assert fresh["username"] != issued["username"] and logs_in(fresh)
    finally:
        prov.delete(ctx)


def test_the_readme_policy_is_enough(bao: Bao, make_ctx: MakeCtx) -> None:
    """A token holding only the policies the README documents runs the whole lifecycle."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    policy = "\n".join(re.findall(r"```hcl\n(.*?)```", readme, flags=re.S))
    root = bao.client()
    root.sys.create_or_update_policy("podium-readme", policy)
    token = root.auth.token.create(policies=["podium-readme"], ttl="1h")["auth"]["client_token"]
    prov = OpenBaoPostgresProvisioner(OpenBao(Settings(address=bao.address, token=token)))
    ctx = make_ctx("policy")
    try:
        first = prov.create(ctx)
        assert logs_in(first)
        assert prov.read(ctx) is not None
        assert logs_in(prov.update(ctx, first))
    finally:
        prov.delete(ctx)
    assert prov.read(ctx) is None
