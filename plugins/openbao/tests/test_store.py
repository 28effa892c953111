"""The ``openbao`` secret store against a real OpenBao dev server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import Bao

from podium.plugin import NotFoundError, ResourceError, Secret
from podium.testing.conformance import SecretStoreConformance
from podium_openbao.client import OpenBao
from podium_openbao.settings import Settings
from podium_openbao.store import OpenBaoSecretStore


def store_for(bao: Bao, platform: str = "", **settings: Any) -> OpenBaoSecretStore:
    values: dict[str, Any] = {"address": bao.address, "token": bao.token, **settings}
    return OpenBaoSecretStore(
        OpenBao(Settings(**values)), platform or "plat-" + uuid.uuid4().hex[:6]
    )


class TestOpenBaoStoreConformance(SecretStoreConformance):
    @pytest.fixture
    def secret_store(self, bao: Bao) -> OpenBaoSecretStore:
        return store_for(bao)


def test_scopes_and_versions(bao: Bao) -> None:
    store = store_for(bao)
    assert store.put_in("db/password", Secret("one"), None) == 1
    assert store.put_in("db/password", Secret("one"), None) == 1  # same value: same version
    assert store.put_in("db/password", Secret("two"), None) == 2
    assert store.put_in("db/password", Secret("dev-only"), "dev") == 1
    assert store.get_in("db/password", None).reveal() == "two"
    assert store.get_in("db/password", "dev").reveal() == "dev-only"
    assert [(v.key, v.version) for v in store.versions(None)] == [("db/password", 2)]
    assert [(v.key, v.version, v.scope) for v in store.versions("dev")] == [
        ("db/password", 1, "dev")
    ]
    with pytest.raises(NotFoundError):
        store.get_in("db/password", "prod")
    before = store.version_of("db/password", None)
    store.delete_in("db/password", None)
    assert store.version_of("db/password", None) is None
    store.put_in("db/password", Secret("three"), None)
    after = store.version_of("db/password", None)
    # Versions restart after a delete; the revision still tells the values apart.
    assert before is not None and after is not None and after.version == 1
    assert after.revision and after.revision != before.revision


def test_mount_and_prefix_are_settings(bao: Bao) -> None:
    root = bao.client()
    mount = "kv-" + uuid.uuid4().hex[:6]
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    store = store_for(bao, mount=mount, prefix="teams/shop")
    store.put("api-key", Secret("from-a-custom-mount"))
    platform = store._root.split("/")[-1]
    read = root.secrets.kv.v2.read_secret_version(
        path=f"teams/shop/{platform}/platform/api-key",
        mount_point=mount,
        raise_on_deleted_version=True,
    )
    assert read["data"]["data"] == {"value": "from-a-custom-mount"}


def test_approle_login(bao: Bao) -> None:
    root = bao.client()
    mount = "approle-" + uuid.uuid4().hex[:6]
    root.sys.enable_auth_method("approle", path=mount)
    root.sys.create_or_update_policy(
        "podium-store",
        'path "secret/data/podium/*" { capabilities = ["create", "read", "update", "delete"] }\n'
        'path "secret/metadata/podium/*" { capabilities = ["read", "list", "delete"] }\n',
    )
    root.auth.approle.create_or_update_approle(
        "podium", token_policies=["podium-store"], mount_point=mount
    )
    role_id = root.auth.approle.read_role_id("podium", mount_point=mount)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("podium", mount_point=mount)["data"][
        "secret_id"
    ]
    store = OpenBaoSecretStore(
        OpenBao(
            Settings(
                address=bao.address,
                auth="approle",
                approle_mount=mount,
                role_id=role_id,
                secret_id=secret_id,
            )
        ),
        "approle-plat",
    )
    store.put("k", Secret("via-approle"))
    assert store.get("k").reveal() == "via-approle"
    assert store.list() == ["k"]
    # The role's policy stops at its paths: elsewhere it is refused, and said so.
    other = Settings(
        address=bao.address,
        auth="approle",
        approle_mount=mount,
        role_id=role_id,
        secret_id=secret_id,
        prefix="elsewhere",
    )
    with pytest.raises(ResourceError, match="permission denied"):
        OpenBaoSecretStore(OpenBao(other), "approle-plat").put("k", Secret("x"))


def test_namespace(bao: Bao) -> None:
    root = bao.client()
    name = "team-" + uuid.uuid4().hex[:6]
    root.adapter.post(f"/v1/sys/namespaces/{name}")
    bao.client(namespace=name).sys.enable_secrets_engine(
        "kv", path="secret", options={"version": "2"}
    )
    store = store_for(bao, platform=name, namespace=name)
    store.put("in-namespace", Secret("ns-value"))
    assert store.get("in-namespace").reveal() == "ns-value"
    # The same platform and key outside the namespace: not there.
    with pytest.raises(NotFoundError):
        store_for(bao, platform=name).get("in-namespace")


def test_secret_resource_prefers_the_environments_own_value(bao: Bao, tmp_path: Any) -> None:
    from podium.plugin import EnvironmentInfo, ResourceContext
    from podium_openbao.provisioners.secret import OpenBaoSecretProvisioner

    store = store_for(bao)
    platform = store._root.split("/")[-1]
    env = EnvironmentInfo(platform=platform, environment="dev", state_dir=tmp_path / "dev")
    ctx = ResourceContext(
        uid="secret.default#app.s", type="secret", resource_class="default", id=None,
        workload="app", params={"key": "api"}, physical_name="s", env=env,
    )  # fmt: skip
    prov = OpenBaoSecretProvisioner(OpenBao(Settings(address=bao.address, token=bao.token)))
    with pytest.raises(ResourceError, match="not set"):
        prov.create(ctx)
    assert prov.read(ctx) is None
    store.put_in("api", Secret("everywhere"), None)
    assert prov.create(ctx)["value"].reveal() == "everywhere"
    store.put_in("api", Secret("dev-only"), "dev")
    found = prov.read(ctx)
    assert found is not None and found["value"].reveal() == "dev-only" and found["version"] == 1
