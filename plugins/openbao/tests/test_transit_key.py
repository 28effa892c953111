"""The state key wrapped by OpenBao's transit engine, through the real CLI and a real server.

Only the wrapped data key is on disk; a provider that cannot unwrap it stops every
command that needs the key (naming the plugin); ``podium state rekey`` rotates the
data key, wraps the new one, and leaves nothing the old data key opens.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import Bao
from cryptography.fernet import Fernet, InvalidToken

CONFIG = """\
[platform]
name = "transit"

[plugins]
allow = ["openbao"]

[plugins.openbao]
address = "{address}"
transit_mount = "{mount}"

[secrets]
store = "local"
key_provider = "openbao"
wrapping_key = "{key}"

[environments.dev]

[environments.prod]
"""

TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*")

#: A rekey that SIGKILLs itself once its pending (wrapped) key is written.
KILLER = """\
import os, signal
from podium import Platform

def on_step(name):
    if name == "resealed state dev":
        os.kill(os.getpid(), signal.SIGKILL)

with Platform.from_file("podium.toml") as platform:
    platform.rekey(on_step=on_step)
"""


class TransitProject:
    def __init__(self, root: Path, bao: Bao, key: str = "podium-state") -> None:
        self.root, self.bao = root, bao
        self.mount = "transit-" + uuid.uuid4().hex[:8]
        client = bao.client()
        client.sys.enable_secrets_engine("transit", path=self.mount)
        client.secrets.transit.create_key(name="podium-state", mount_point=self.mount)
        client.secrets.transit.create_key(name="other", mount_point=self.mount)
        self.configure(key)
        self.state = root / ".podium"

    def configure(self, key: str) -> None:
        text = CONFIG.format(address=self.bao.address, mount=self.mount, key=key)
        (self.root / "podium.toml").write_text(text)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env=self.bao.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )

    def podium(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self.run("-m", "podium", *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def wrapped(self) -> str:
        return (self.state / "key.wrapped").read_text().strip()

    def data_key(self, wrapped: str) -> bytes:
        """What transit unwraps ``wrapped`` to (the test's own call, with the root token)."""
        answer = self.bao.client().secrets.transit.decrypt_data(
            name="podium-state", ciphertext=wrapped, mount_point=self.mount
        )
        return base64.b64decode(answer["data"]["plaintext"])

    def tokens(self) -> list[str]:
        found: list[str] = []
        for path in sorted(self.state.rglob("*.db")):
            db = sqlite3.connect(path)
            try:
                names = [
                    r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                ]
                for table in names:
                    for row in db.execute(f'SELECT * FROM "{table}"'):
                        found += [t for v in row if isinstance(v, str) for t in TOKEN.findall(v)]
            finally:
                db.close()
        return found


def opens(key: bytes, token: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


@pytest.fixture
def project(tmp_path: Path, bao: Bao) -> TransitProject:
    project = TransitProject(tmp_path, bao)
    project.podium("secrets", "set", "api-token", "--value", "wrapped-secret-1")
    project.podium("secrets", "set", "api-token", "--value", "dev-secret-1", "-e", "dev")
    for env in ("dev", "prod"):
        project.podium("state", "list", "-e", env)  # each environment's state gets its key check
    return project


def test_only_the_wrapped_key_is_on_disk(project: TransitProject) -> None:
    assert not (project.state / "key").exists()
    wrapped = project.wrapped()
    assert wrapped.startswith("vault:v1:")
    key = project.data_key(wrapped)
    assert key.decode() not in "".join(
        p.read_text(errors="replace") for p in project.root.rglob("*") if p.is_file()
    )
    tokens = project.tokens()
    assert tokens and all(opens(key, t) for t in tokens)
    got = project.podium("secrets", "get", "api-token", "--reveal")
    assert got.stdout.strip() == "wrapped-secret-1"


def test_a_key_that_cannot_unwrap_fails_closed_naming_the_plugin(project: TransitProject) -> None:
    project.configure("other")  # a transit key that did not wrap this data key
    for args in (("secrets", "get", "api-token", "--reveal"), ("state", "rekey")):
        refused = project.run("-m", "podium", *args)
        assert refused.returncode != 0
        assert "could not unwrap" in refused.stderr and "plugin openbao" in refused.stderr
        assert "wrapped-secret-1" not in refused.stdout + refused.stderr
        assert project.wrapped() not in refused.stderr


def test_rekey_rotates_the_wrapped_data_key(project: TransitProject) -> None:
    old_wrapped = project.wrapped()
    old = project.data_key(old_wrapped)
    project.podium("state", "rekey")
    new_wrapped = project.wrapped()
    assert new_wrapped != old_wrapped and new_wrapped.startswith("vault:v1:")
    new = project.data_key(new_wrapped)
    tokens = project.tokens()
    assert len(tokens) == 5  # 3 in the secret store (2 values, its check), a check per env
    assert all(opens(new, t) for t in tokens)
    assert not any(opens(old, t) for t in tokens)
    got = project.podium("secrets", "get", "api-token", "--reveal", "-e", "dev")
    assert got.stdout.strip() == "dev-secret-1"


def test_a_killed_rekey_keeps_both_keys_readable_and_a_rerun_finishes(
    project: TransitProject,
) -> None:
    old = project.data_key(project.wrapped())
    (project.root / "kill.py").write_text(KILLER)
    killed = project.run(str(project.root / "kill.py"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pending = (project.state / "key.wrapped.pending").read_text().strip()
    assert pending.startswith("vault:v1:")
    got = project.podium("secrets", "get", "api-token", "--reveal")
    assert got.stdout.strip() == "wrapped-secret-1"

    project.podium("state", "rekey")
    assert project.wrapped() == pending  # the rerun finished with the pending key
    assert not (project.state / "key.wrapped.pending").exists()
    new = project.data_key(pending)
    tokens = project.tokens()
    assert all(opens(new, t) for t in tokens) and not any(opens(old, t) for t in tokens)
    assert os.stat(project.state / "key.wrapped").st_mode & 0o077 == 0
