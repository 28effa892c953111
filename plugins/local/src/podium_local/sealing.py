"""Sealing secret values before they touch a file.

Secrets podium-local must keep between invocations (values a supervised process
needs at every restart, the redis admin password) are stored only as Fernet
tokens. The key is a file of its own (``<env state>/local/seal.key``, mode 0600)
that is never copied into configs, specs or logs: a config file, a backup of the
workload directory or a pasted log line holds ciphertext only.

This protects against accidental disclosure, not against someone who can read
files as the same user; that is the same trust model as the platform's local
secret store.
"""

from __future__ import annotations

import os
from pathlib import Path

from podium.plugin import EnvironmentInfo, Secret
from podium_local.files import file_lock, plugin_dir, private_dir

KEY_FILE = "seal.key"


class Sealer:
    """Encrypts and decrypts strings with the environment's seal key (created on first use)."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._key: bytes | None = None

    @classmethod
    def for_env(cls, env: EnvironmentInfo) -> Sealer:
        return cls(plugin_dir(env) / KEY_FILE)

    def _load_key(self) -> bytes:
        if self._key is None:
            from cryptography.fernet import Fernet

            private_dir(self.key_path.parent)
            with file_lock(self.key_path.with_suffix(".lock")):
                if not self.key_path.exists():
                    fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(Fernet.generate_key())
                self._key = self.key_path.read_bytes().strip()
        return self._key

    def seal(self, value: Secret | str) -> str:
        from cryptography.fernet import Fernet

        text = value.reveal() if isinstance(value, Secret) else value
        return Fernet(self._load_key()).encrypt(text.encode()).decode("ascii")

    def unseal(self, token: str) -> Secret:
        from cryptography.fernet import Fernet

        return Secret(Fernet(self._load_key()).decrypt(token.encode("ascii")).decode())

    def fingerprint(self, value: Secret) -> str:
        """Detects a changed secret (for "did the spec change?") without storing it."""
        return value.fingerprint(self._load_key())
