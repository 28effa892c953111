"""Live outputs: a secret whose value stays at its source is never written to state.

A small in-process provisioner hands out a value from a dict standing in for a
vault, declared ``Output(live=True)``; a deployer keeps the workloads it receives.
After ``up`` the value is in no byte of any file under the state directory, not
even once every sealed token there is decrypted with the state key, while the
deployer got it. Changing it at the source then ``plan --refresh`` redeploys with the
new value; a rollback deploys the current value too. A record written before the
output was live (the value sealed) keeps rendering.
"""

from __future__ import annotations

import json
import re
import types
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest

from podium import hookimpl
from podium.api import Platform
from podium.deployment import Deployer, DeploymentResult, WorkloadStatus
from podium.engine.live_outputs import MARKER
from podium.errors import ResourceError
from podium.provisioning import Output, Provisioner, ResourceContext
from podium.security.secret import Secret, reveal

WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: example/app:1
    variables:
      TOKEN: ${resources.token.value}
      URL: https://user:${resources.token.value}@api.example/v1
      VERSION: ${resources.token.version}
resources:
  token:
    type: secret
"""


class Vault:
    """The secret's source: one value per key, with a version."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, int]] = {}
        self.reads = 0

    def set(self, key: str, value: str) -> None:
        version = self.values.get(key, ("", 0))[1] + 1
        self.values[key] = (value, version)


class VaultSecret(Provisioner):
    name: ClassVar[str] = "vault-secret"
    resource_type: ClassVar[str] = "secret"
    output_fields: ClassVar[dict[str, Output]] = {
        "value": Output("The value, read at each deploy.", live=True),
        "version": Output("Its version.", type=int),
    }

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        found = self.read(ctx)
        assert found is not None
        return found

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        self.vault.reads += 1
        found = self.vault.values.get(ctx.uid)
        if found is None:
            return None
        return {"value": Secret(found[0]), "version": found[1]}

    def delete(self, ctx: ResourceContext) -> None:
        return None


class SealedVaultSecret(VaultSecret):
    """The same provisioner as a plugin before live outputs: the value is sensitive only."""

    output_fields: ClassVar[dict[str, Output]] = {
        "value": Output("The value.", sensitive=True),
        "version": Output("Its version.", type=int),
    }


class Recorder(Deployer):
    """Keeps the variables of every workload it deploys (values revealed, in memory)."""

    name: ClassVar[str] = "recorder"

    def __init__(self) -> None:
        self.deployed: list[dict[str, str]] = []
        self.fail_next = False

    def deploy(self, ctx: Any, workload: Any) -> DeploymentResult:
        if self.fail_next:
            self.fail_next = False
            raise ResourceError(f"release {ctx.release} does not start")
        variables = workload.containers["main"].variables
        self.deployed.append(
            {k: v.reveal() if isinstance(v, Secret) else str(v) for k, v in variables.items()}
        )
        return DeploymentResult(message="recorded")

    def status(self, ctx: Any) -> WorkloadStatus:
        state = "ready" if self.deployed else "absent"
        return WorkloadStatus(workload=ctx.workload, state=state)

    def logs(self, ctx: Any, **_: Any) -> Any:
        return iter(())

    def destroy(self, ctx: Any) -> None:
        return None


def platform_with(root: Path, provisioner: Provisioner, deployer: Deployer, **env: Any) -> Platform:
    module = types.ModuleType("podium_live_test_plugin")
    module.PODIUM_API = ">=1.0,<2"  # type: ignore[attr-defined]

    @hookimpl
    def podium_provisioners() -> list[Provisioner]:
        return [provisioner]

    @hookimpl
    def podium_deployers() -> list[Deployer]:
        return [deployer]

    module.podium_provisioners = podium_provisioners  # type: ignore[attr-defined]
    module.podium_deployers = podium_deployers  # type: ignore[attr-defined]
    config = {
        "platform": {"name": "livetest"},
        "environments": {"dev": {"deployer": "recorder", **env}},
        "rules": [{"type": "secret", "provisioner": "vault-secret"}],
    }
    return Platform(config, root=root, plugins=[("live", module)], load_entrypoints=False)


UID = "secret.default#app.token"


def state_texts(platform: Platform, root: Path) -> list[str]:
    """Every file under the project as text, then every sealed token in them decrypted."""
    cipher = platform.cipher("dev")
    texts = [p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file()]
    tokens = {t for text in texts for t in re.findall(r'"\$secret":\s*"([^"]+)"', text)}
    assert tokens, "nothing sealed found: the scan would prove nothing"
    return texts + [cipher.decrypt(token) for token in tokens]


def assert_nowhere(platform: Platform, root: Path, *values: str) -> None:
    """Not in any file (state database and WAL), sealed token, release or history entry."""
    store, cipher = platform.store("dev"), platform.cipher("dev")
    releases = [cipher.unseal(r) for r in store.releases("app")]
    dumped = json.dumps(reveal([releases, store.history()]), default=str)
    for text in [*state_texts(platform, root), dumped]:
        for value in values:
            assert value not in text


@pytest.mark.filterwarnings("ignore")
def test_a_live_secret_reaches_the_deployer_and_never_state(tmp_path: Path) -> None:
    first, second = "live-canary-" + uuid.uuid4().hex, "live-rotated-" + uuid.uuid4().hex
    vault, deployer = Vault(), Recorder()
    vault.set(UID, first)
    score = tmp_path / "app.score.yaml"
    score.write_text(WORKLOAD)
    platform = platform_with(tmp_path, VaultSecret(vault), deployer)
    with platform:
        assert platform.up("dev", [score])[1].ok
        sent = deployer.deployed[-1]
        assert sent["TOKEN"] == first
        assert sent["URL"] == f"https://user:{first}@api.example/v1"
        record = next(r for r in platform.store("dev").records() if r.uid == UID)
        assert set(platform.cipher("dev").unseal(record.outputs)["value"]) == {MARKER}
        release = platform.cipher("dev").unseal(platform.store("dev").releases("app")[-1])
        assert "@@podium-live[" in json.dumps(reveal(release))  # a reference, not the value
        assert_nowhere(platform, tmp_path, first)

        # Nothing changed at the source: no plan change, even with refresh.
        assert not platform.plan("dev", [score], refresh=True).has_changes
        vault.set(UID, second)
        plan = platform.plan("dev", [score], refresh=True)
        actions = {c.uid: c.action for c in plan.changes}
        assert actions.get(UID) == "update"
        assert "deployment:app" in actions
        assert second not in json.dumps(plan.to_dict(), default=str)
        assert platform.apply(plan).ok
        assert deployer.deployed[-1]["TOKEN"] == second
        deployed = len(deployer.deployed)

        # A rollback to release 1 deploys the secret's current value (never the old one).
        platform.rollback("dev", "app", to=1)
        assert len(deployer.deployed) == deployed + 1
        assert deployer.deployed[-1]["TOKEN"] == second
        assert_nowhere(platform, tmp_path, first, second)


@pytest.mark.filterwarnings("ignore")
def test_a_record_holding_the_sealed_value_still_renders(tmp_path: Path) -> None:
    """State written by a plugin before its output was live keeps working."""
    value = "sealed-canary-" + uuid.uuid4().hex
    vault, deployer = Vault(), Recorder()
    vault.set(UID, value)
    score = tmp_path / "app.score.yaml"
    score.write_text(WORKLOAD)
    with platform_with(tmp_path, SealedVaultSecret(vault), deployer) as old:
        assert old.up("dev", [score])[1].ok
    # Upgraded plugin: the record still holds the sealed value; it renders as before.
    deployer = Recorder()
    with platform_with(tmp_path, VaultSecret(vault), deployer) as new:
        plan = new.plan("dev", [score])
        assert not plan.has_changes
        # A refresh sees the stored value is no marker: the update replaces it with one.
        plan = new.plan("dev", [score], refresh=True)
        assert {c.uid: c.action for c in plan.changes}.get(UID) == "update"
        assert new.apply(plan).ok
        record = next(r for r in new.store("dev").records() if r.uid == UID)
        assert set(new.cipher("dev").unseal(record.outputs)["value"]) == {MARKER}
        assert new.up("dev", [score])[1].ok
    assert all(d["TOKEN"] == value for d in deployer.deployed)


@pytest.mark.filterwarnings("ignore")
def test_an_imported_resource_records_the_marker_and_deploys_the_value(tmp_path: Path) -> None:
    """A record made from a ``read`` (``podium state import``) keeps no live value either."""
    value = "imported-canary-" + uuid.uuid4().hex
    vault, deployer = Vault(), Recorder()
    vault.set(UID, value)
    score = tmp_path / "app.score.yaml"
    score.write_text(WORKLOAD)
    with platform_with(tmp_path, VaultSecret(vault), deployer) as platform:
        record = platform.import_resource("dev", [score], UID, "the-token")
        assert set(platform.cipher("dev").unseal(record.outputs)["value"]) == {MARKER}
        assert platform.up("dev", [score])[1].ok
        assert deployer.deployed[-1]["TOKEN"] == value
        assert_nowhere(platform, tmp_path, value)


@pytest.mark.filterwarnings("ignore")
def test_an_automatic_rollback_deploys_the_current_value(tmp_path: Path) -> None:
    first, second = "auto-first-" + uuid.uuid4().hex, "auto-second-" + uuid.uuid4().hex
    vault, deployer = Vault(), Recorder()
    vault.set(UID, first)
    score = tmp_path / "app.score.yaml"
    score.write_text(WORKLOAD)
    with platform_with(
        tmp_path, VaultSecret(vault), deployer, rollback_on_failure=True
    ) as platform:
        assert platform.up("dev", [score])[1].ok
        vault.set(UID, second)
        deployer.fail_next = True  # release 2 fails: release 1 comes back, read again
        result = platform.apply(platform.plan("dev", [score], refresh=True))
        assert not result.ok
        assert [d["TOKEN"] for d in deployer.deployed] == [first, second]
        notes = [r.get("note", "") for r in platform.store("dev").releases("app")]
        assert "automatic rollback to release 1" in notes[-1]
        assert_nowhere(platform, tmp_path, first, second)
