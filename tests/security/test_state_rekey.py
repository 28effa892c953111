"""``podium state rekey`` through the real CLI: every secret re-sealed, crash-safely.

The project has two environments with applied resources (generated passwords,
secret outputs, releases of a deployment whose variables hold secrets) and the
local secret store holds platform-wide and per-environment secrets. The tests
read every Fernet token out of the raw SQLite files, so nothing sealed escapes
the checks: after a rekey each opens with the new key and none with the old.
A rekey killed with SIGKILL after each step (and in the middle of re-sealing a
store) leaves every secret readable, and running it again finishes.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_project import FAKE_PLATFORM, CliProject, install_plugin
from cryptography.fernet import Fernet, InvalidToken

CONFIG = """\
[platform]
name = "rekey"
workloads = ["*.score.yaml"]

[plugins]
allow = ["fake"]

[environments.dev]
deployer = "fake-deployer"

[environments.prod]
deployer = "fake-deployer"

[[rules]]
type = "volume"
provisioner = "fake-dir"
"""

WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  main:
    image: example/shop:1.0
    variables:
      DATA_PASSWORD: ${resources.data.password}
resources:
  data:
    type: volume
"""

#: A Fernet token: version byte 0x80 and a timestamp, base64url (``gAAAAA``...).
TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*")

#: Runs a rekey in a child process that SIGKILLs itself at a step (or at the Nth re-seal).
KILLER = """\
import os, signal, sys
from podium import Platform
from podium.security.crypto import StateCipher

step, nth = sys.argv[1], int(sys.argv[2])
if nth:
    original = StateCipher.reseal
    calls = [0]
    def reseal(self, token):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, token)
    StateCipher.reseal = reseal

def on_step(name):
    if name == step:
        os.kill(os.getpid(), signal.SIGKILL)

with Platform.from_file("podium.toml") as platform:
    platform.rekey(on_step=on_step)
"""


#: Reads every secret back through the Platform API in a child process; prints what it read.
READER = """\
import json
from podium import Platform

with Platform.from_file("podium.toml") as platform:
    read = {"store": [platform.secrets.get_in("api-token", None).reveal(),
                      platform.secrets.get_in("api-token", "dev").reveal()]}
    for env in ("dev", "prod"):
        outputs = platform.outputs(env, show_secrets=True)
        passwords = [o["password"] for o in outputs.values() if "password" in o]
        releases = platform.releases(env, "shop")
        platform.plan(env, ["shop.score.yaml"])
        read[env] = {"passwords": passwords, "releases": len(releases)}
print(json.dumps(read))
"""


class RekeyProject(CliProject):
    def __init__(self, root: Path) -> None:
        super().__init__(root, root / "site")
        install_plugin(self.site, "fake", FAKE_PLATFORM.read_text(), module="fake_platform")
        self.write("podium.toml", CONFIG)
        self.write("shop.score.yaml", WORKLOAD)
        self.state = root / ".podium"

    def key(self) -> bytes:
        return (self.state / "key").read_bytes().strip()

    def tokens(self) -> list[str]:
        """Every Fernet token in every SQLite file under the state root (state and secrets)."""
        found: list[str] = []
        for path in sorted(self.state.rglob("*.db")):
            db = sqlite3.connect(path)
            try:
                tables = [
                    r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                ]
                for table in tables:
                    for row in db.execute(f'SELECT * FROM "{table}"'):
                        for value in row:
                            if isinstance(value, str):
                                found.extend(TOKEN.findall(value))
            finally:
                db.close()
        return found

    def kill_rekey_at(self, step: str, nth: int = 0) -> None:
        script = self.write("kill_rekey.py", KILLER)
        process = subprocess.run(
            [sys.executable, str(script), step, str(nth)],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        assert process.returncode == -signal.SIGKILL, process.stderr

    def secrets_readable(self) -> None:
        """Every secret opens: the store's values, each environment's outputs, releases
        and history (one child process reads them all through the Platform API)."""
        script = self.write("read_all.py", READER)
        process = subprocess.run(
            [sys.executable, str(script)],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        assert process.returncode == 0, process.stderr
        read = json.loads(process.stdout)
        assert read["store"] == ["platform-token", "dev-token"]
        for env in ("dev", "prod"):
            assert read[env]["passwords"] and all(read[env]["passwords"]), read
            assert read[env]["releases"] >= 1


def opens(key: bytes, token: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


@pytest.fixture
def project(tmp_path: Path) -> RekeyProject:
    project = RekeyProject(tmp_path)
    project.ok("secrets", "set", "api-token", "--value", "platform-token")
    project.ok("secrets", "set", "api-token", "--value", "dev-token", "-e", "dev")
    for env in ("dev", "prod"):
        project.ok("up", "-e", env, "--yes")
    return project


def test_rekey_reseals_every_secret_and_the_old_key_opens_none(project: RekeyProject) -> None:
    old = project.key()
    before = project.tokens()
    assert len(before) >= 8 and all(opens(old, t) for t in before)

    done = project.ok("state", "rekey")
    assert "rotated the state key" in done.stdout and "rekey: switched" in done.stderr

    new = project.key()
    assert new != old and not (project.state / "key.pending").exists()
    after = project.tokens()
    assert len(after) == len(before)
    assert all(opens(new, t) for t in after)
    assert not any(opens(old, t) for t in after), "a value still opens with the old key"
    project.secrets_readable()
    entries = project.json("history", "-e", "prod", "--kind", "state")
    assert any("state rekey" in json.dumps(e) for e in entries), entries
    # Nothing re-seals twice: a second rekey rotates again and everything still opens.
    project.ok("state", "rekey")
    assert all(opens(project.key(), t) for t in project.tokens())
    project.secrets_readable()


@pytest.mark.parametrize(
    ("step", "nth"),
    [
        ("pending", 0),  # the next key written, nothing re-sealed
        ("", 3),  # inside dev's transaction (13 values: 5 per environment, 3 in the store)
        ("", 8),  # inside prod's: dev re-sealed, prod and the store not
        ("", 12),  # inside the secret store's: both environments re-sealed
        ("", 20),  # during the pass that checks nothing is left
        ("switched", 0),  # after the switch, before history says so
    ],
)
def test_sigkill_anywhere_leaves_every_secret_readable_and_rerun_finishes(
    project: RekeyProject, step: str, nth: int
) -> None:
    old = project.key()
    project.kill_rekey_at(step, nth)
    project.secrets_readable()  # the interrupted rotation: every value opens (both keys)
    project.ok("secrets", "set", "later", "--value", "written-mid-rekey")

    project.ok("state", "rekey")
    new = project.key()
    assert not (project.state / "key.pending").exists()
    tokens = project.tokens()
    assert tokens and all(opens(new, t) for t in tokens)
    assert not any(opens(old, t) for t in tokens)
    project.secrets_readable()
    assert project.ok("secrets", "get", "later", "--reveal").stdout.strip() == "written-mid-rekey"


def test_rekey_refuses_a_key_from_the_environment(project: RekeyProject) -> None:
    key = project.key().decode()
    refused = project.podium("state", "rekey", PODIUM_STATE_KEY=key)
    assert refused.returncode != 0
    assert "PODIUM_STATE_KEY" in refused.stderr and key not in refused.stderr + refused.stdout


def test_a_backend_without_reseal_is_refused_before_anything_changes(tmp_path: Path) -> None:
    from podium import Platform
    from podium.errors import StateError
    from podium.platform.contract import StateStore
    from podium.plugin import hookimpl
    from podium.state.sqlite import SqliteStateBackend, SqliteStateStore

    class OldStore(SqliteStateStore):
        reseal = StateStore.reseal  # a backend written before plugin API 1.3

    class OldBackend(SqliteStateBackend):
        name = "old-sqlite"

        def open(self, env: object, options: dict[str, object]) -> StateStore:
            store = super().open(env, options)  # type: ignore[arg-type]
            store.__class__ = OldStore
            return store

    class OldPlugin:
        PODIUM_API = ">=1.0,<2"

        @hookimpl
        def podium_state_backends(self) -> list[object]:
            return [OldBackend()]

    config = {"environments": {"dev": {}}, "state": {"backend": "old-sqlite"}}
    with Platform(config, root=tmp_path, plugins=[("old", OldPlugin())]) as platform:
        platform.set_secret("api-token", "value-1")
        platform.cipher("dev")
        key = (tmp_path / ".podium" / "key").read_bytes()
        with pytest.raises(StateError, match="cannot re-seal its state"):
            platform.rekey()
        assert (tmp_path / ".podium" / "key").read_bytes() == key
        assert not (tmp_path / ".podium" / "key.pending").exists()
        assert platform.secrets.get("api-token").reveal() == "value-1"


def test_a_key_provider_wraps_the_key_and_failing_to_unwrap_fails_closed(tmp_path: Path) -> None:
    from podium import Platform
    from podium.errors import StateError
    from podium.plugin import KeyProvider, hookimpl

    class ReverseProvider(KeyProvider):
        """Wraps by reversing (a stand-in for a real service); ``down`` makes unwrap fail."""

        name = "reverse"
        down = False

        def wrap(self, wrapping_key: str, data_key: bytes) -> str:
            return wrapping_key + ":" + data_key.decode()[::-1]

        def unwrap(self, wrapping_key: str, wrapped: str) -> bytes:
            if self.down:
                raise RuntimeError("connection to the key service refused: token=hunter2")
            prefix, _, body = wrapped.partition(":")
            assert prefix == wrapping_key
            return body[::-1].encode()

    provider = ReverseProvider()

    class ProviderPlugin:
        PODIUM_API = ">=1.3,<2"

        @hookimpl
        def podium_key_providers(self) -> list[KeyProvider]:
            return [provider]

    config = {
        "environments": {"dev": {}},
        "secrets": {"key_provider": "reverse", "wrapping_key": "k1"},
    }
    with Platform(config, root=tmp_path, plugins=[("keys", ProviderPlugin())]) as platform:
        platform.set_secret("api-token", "value-1")
        platform.cipher("dev")
        wrapped = (tmp_path / ".podium" / "key.wrapped").read_text().strip()
        assert wrapped.startswith("k1:") and not (tmp_path / ".podium" / "key").exists()
        result = platform.rekey()
        assert result.total == 3  # the store's value and key check, dev's key check
        assert (tmp_path / ".podium" / "key.wrapped").read_text().strip() != wrapped
    provider.down = True
    with Platform(config, root=tmp_path, plugins=[("keys", ProviderPlugin())]) as platform:
        with pytest.raises(StateError) as refused:
            platform.secrets.get("api-token")
        message = str(refused.value)
        assert "key provider 'reverse' (plugin keys" in message and "could not unwrap" in message
        assert "hunter2" not in message and "RuntimeError" in message


def test_a_value_no_key_opens_stops_rekey_before_the_switch(tmp_path: Path) -> None:
    from podium import Platform
    from podium.errors import StateError
    from podium.security.crypto import StateCipher, generate_key

    config = {"environments": {"dev": {}}}
    with Platform(config, root=tmp_path) as platform:
        platform.cipher("dev")
        foreign = StateCipher(generate_key()).encrypt("sealed elsewhere")
        platform.store("dev").put_generated("resource:odd", "token", foreign)
        key = (tmp_path / ".podium" / "key").read_bytes()
        with pytest.raises(StateError, match="does not match the state"):
            platform.rekey()
        assert (tmp_path / ".podium" / "key").read_bytes() == key  # not switched
        [entry] = [h for h in platform.history("dev") if h["operation"] == "state rekey"]
        assert entry["status"] == "failed" and "does not match" in entry["error"]
        assert platform.store("dev").lock_info() is None  # the lock was released
