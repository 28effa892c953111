"""Per-environment secrets and versions: the local store, the override rule, and a 0.1 store.

A 0.1 SecretStore (get/put/delete/list only) must keep working through the Platform
API: platform-wide secrets, a deprecation warning, and rotations still noticed by
the plan (through the value's keyed fingerprint, never the value).
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from podium import hookimpl
from podium.api import Platform
from podium.deployment.contract import (
    DeployContext,
    Deployer,
    DeploymentResult,
    LogLine,
    Release,
    RenderedWorkload,
    WorkloadStatus,
)
from podium.errors import InputError, NotFoundError, StateError
from podium.plugins.deprecations import PodiumDeprecationWarning
from podium.provisioning import Provisioner, ResourceContext
from podium.security.contract import SecretStore, SecretVersion
from podium.security.crypto import StateCipher, generate_key
from podium.security.env_secrets import EnvironmentSecrets
from podium.security.local_store import LocalSecretStore
from podium.security.secret import Secret


@pytest.fixture
def cipher() -> StateCipher:
    return StateCipher(generate_key())


def test_versions_grow_per_scope_and_never_repeat_after_delete(
    tmp_path: Path, cipher: StateCipher
) -> None:
    store = LocalSecretStore(tmp_path / "secrets.db", cipher)
    assert store.put_in("api", Secret("a1"), None) == 1
    assert store.put_in("api", Secret("a2"), None) == 2
    assert store.put_in("api", Secret("p1"), "prod") == 1
    assert store.get("api").reveal() == "a2" and store.get_in("api", "prod").reveal() == "p1"
    assert store.versions(None) == [SecretVersion("api", 2)]
    assert store.versions("prod") == [SecretVersion("api", 1, "prod")]
    store.delete_in("api", "prod")
    with pytest.raises(NotFoundError, match="for environment 'prod'"):
        store.get_in("api", "prod")
    assert store.put_in("api", Secret("p2"), "prod") == 2  # not 1 again: plans compare numbers
    assert store.list() == ["api"]  # the 0.1 view: platform-wide keys
    store.close()


def test_override_rule_environment_value_first_then_platform_wide(
    tmp_path: Path, cipher: StateCipher
) -> None:
    store = LocalSecretStore(tmp_path / "secrets.db", cipher)
    store.put("shared", Secret("everywhere"))
    store.put_in("shared", Secret("prod-only"), "prod")
    prod, dev = EnvironmentSecrets(store, "prod"), EnvironmentSecrets(store, "dev")
    assert prod.get("shared").reveal() == "prod-only"
    assert dev.get("shared").reveal() == "everywhere"
    assert prod.resolve("shared") == SecretVersion("shared", 1, "prod")
    assert dev.resolve("shared") == SecretVersion("shared", 1, None)
    assert prod.resolve("missing") is None
    dev.put("dev-key", Secret("d"))  # writes through a view land in its environment
    assert store.versions("dev") == [SecretVersion("dev-key", 1, "dev")]
    assert prod.list() == ["shared"] and dev.list() == ["dev-key", "shared"]


def test_a_value_copied_to_another_environment_fails_to_open(
    tmp_path: Path, cipher: StateCipher
) -> None:
    store = LocalSecretStore(tmp_path / "secrets.db", cipher)
    store.put_in("k", Secret("prod-value"), "prod")
    store.put_in("k", Secret("dev-value"), "dev")
    store.close()
    with sqlite3.connect(tmp_path / "secrets.db") as db:
        (token,) = db.execute("SELECT token FROM env_secrets WHERE env = 'prod'").fetchone()
        db.execute("UPDATE env_secrets SET token = ? WHERE env = 'dev'", (token,))
    with pytest.raises(StateError, match="tampered"):
        LocalSecretStore(tmp_path / "secrets.db", cipher).get_in("k", "dev")


def test_a_store_written_before_versions_keeps_its_secrets_as_version_1(
    tmp_path: Path, cipher: StateCipher
) -> None:
    path = tmp_path / "secrets.db"
    with sqlite3.connect(path) as db:  # the 0.1 schema, as older Podium wrote it
        db.execute("CREATE TABLE secrets (key TEXT PRIMARY KEY, token TEXT NOT NULL)")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        token = cipher.encrypt(json.dumps({"k": "old", "v": "kept"}))
        db.execute("INSERT INTO secrets VALUES ('old', ?)", (token,))
    db.close()
    store = LocalSecretStore(path, cipher)
    assert store.get("old").reveal() == "kept"
    assert store.versions(None) == [SecretVersion("old", 1)]
    assert store.put_in("old", Secret("new"), None) == 2
    # Platform-wide secrets apply in every environment.
    assert EnvironmentSecrets(store, "prod").get("old").reveal() == "new"


class LegacyStore(SecretStore):
    """A store written against the 0.1 contract: no environments, no versions."""

    name: ClassVar[str] = "legacy"

    def __init__(self) -> None:
        self.values: dict[str, Secret] = {}

    def get(self, key: str) -> Secret:
        if key not in self.values:
            raise NotFoundError(f"no secret {key!r}")
        return self.values[key]

    def put(self, key: str, value: Secret) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)

    def list(self) -> list[str]:
        return sorted(self.values)


class StoreSecret(Provisioner):
    """A ``secret`` resource handing out a value of the platform's store."""

    name = "store-secret"
    resource_type = "secret"
    secret_outputs = frozenset({"value"})

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        return {"value": ctx.env.secret_store.get(ctx.params["key"])}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        pass


SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: x:1
resources:
  token:
    type: secret
    params:
      key: api-token
"""


def legacy_platform(tmp_path: Path, store: SecretStore) -> Platform:
    plugin = SimpleNamespace(
        PODIUM_API=">=1.0,<2",
        podium_provisioners=hookimpl(lambda: [StoreSecret()]),
        podium_secret_stores=hookimpl(lambda: [store]),
    )
    return Platform(
        {
            "environments": {"dev": {}, "prod": {}},
            "rules": [{"type": "secret", "provisioner": "store-secret"}],
            "secrets": {"store": store.name},
            "telemetry": {"jsonl": False},
        },
        root=tmp_path,
        plugins=[("legacy", plugin)],
        load_entrypoints=False,
    )


def test_a_0_1_secret_store_keeps_working_and_rotation_is_still_noticed(tmp_path: Path) -> None:
    score = tmp_path / "score.yaml"
    score.write_text(SCORE)
    store = LegacyStore()
    with legacy_platform(tmp_path, store) as platform:
        assert platform.set_secret("api-token", "first-value") == 0  # no version numbers
        with pytest.warns(PodiumDeprecationWarning, match="support for it ends in plugin API 2.0"):
            platform.environment("dev")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PodiumDeprecationWarning)
            plan, result = platform.up("dev", [score])
            assert result.ok
            uid = "secret.default#app.token"
            assert platform.outputs("dev", show_secrets=True)[uid]["value"] == "first-value"
            assert platform.plan("dev", [score]).change(uid).action == "no-op"
            platform.set_secret("api-token", "second-value")
            plan = platform.plan("dev", [score])
            change = plan.change(uid)
            assert (change.action, change.reason) == ("update", "secret api-token rotated")
            assert "second-value" not in plan.to_json() and "first-value" not in plan.to_json()
            assert platform.apply(plan).ok
            assert platform.outputs("dev", show_secrets=True)[uid]["value"] == "second-value"
            # Per-environment values need a store that keeps them: a clear error, not a guess.
            with pytest.raises(InputError, match="platform-wide secrets only"):
                platform.set_secret("api-token", "prod-value", env="prod")
            with pytest.raises(NotFoundError, match="no environment 'staging'"):
                platform.set_secret("api-token", "x", env="staging")


class RecordingDeployer(Deployer):
    """Remembers each call and the token and image it was given."""

    name = "rec"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def _seen(self, how: str, workload: RenderedWorkload) -> DeploymentResult:
        container = workload.containers["main"]
        token = container.variables["TOKEN"]
        assert isinstance(token, Secret)
        self.calls.append((how, container.image, token.reveal()))
        return DeploymentResult(outputs={"how": how})

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        return self._seen("deploy", workload)

    def rollback(self, ctx: DeployContext, release: Release) -> DeploymentResult:
        return self._seen("rollback", release.workload)

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        return WorkloadStatus(workload=ctx.workload, state="ready")

    def logs(self, ctx: DeployContext, **kwargs: Any) -> Iterator[LogLine]:
        return iter(())

    def destroy(self, ctx: DeployContext) -> None:
        pass


APP = """\
apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: x:@N@
    variables:
      TOKEN: "Bearer ${resources.token.value}"
resources:
  token:
    type: secret
    params:
      key: api-token
"""


def test_rollback_redeploys_the_old_release_with_the_current_secret(tmp_path: Path) -> None:
    deployer = RecordingDeployer()
    plugin = SimpleNamespace(
        PODIUM_API=">=1.0,<2",
        podium_provisioners=hookimpl(lambda: [StoreSecret()]),
        podium_deployers=hookimpl(lambda: [deployer]),
    )
    score = tmp_path / "score.yaml"
    with Platform(
        {
            "environments": {"dev": {"deployer": "rec"}},
            "rules": [{"type": "secret", "provisioner": "store-secret"}],
            "telemetry": {"jsonl": False},
        },
        root=tmp_path,
        plugins=[("rec", plugin)],
        load_entrypoints=False,
    ) as platform:
        assert platform.set_secret("api-token", "old-key") == 1
        for release in ("1", "2"):
            score.write_text(APP.replace("@N@", release))
            assert platform.up("dev", [score])[1].ok
        platform.rollback("dev", "app", to=1)  # nothing rotated: the deployer's own rollback
        assert deployer.calls[-1] == ("rollback", "x:1", "Bearer old-key")

        assert platform.set_secret("api-token", "new-key") == 2
        plan = platform.plan("dev", [score])
        # Still marked rolled back (release 2 is in the files), and now rotated too.
        assert plan.change("deployment:app").reason.endswith("; secret api-token rotated")
        assert platform.apply(plan).ok
        assert deployer.calls[-1] == ("deploy", "x:2", "Bearer new-key")
        # Release 1 ran with the revoked key: rolled back to, it gets the current one, and is
        # deployed anew (what the deployer kept of release 1 would hold the old value).
        platform.rollback("dev", "app", to=1)
        assert deployer.calls[-1] == ("deploy", "x:1", "Bearer new-key")
        assert all(
            "old-key" not in json.dumps(r, default=str) for r in platform.releases("dev", "app")
        )
        platform.delete_secret("api-token")  # revoked outright: no rollback may bring it back
        with pytest.raises(NotFoundError, match="has been deleted since"):
            platform.rollback("dev", "app", to=2)
        history = json.dumps(platform.history("dev"))
        assert "secrets set" in history and "secrets delete" in history and "new-key" not in history
