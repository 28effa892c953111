"""Encryption of secrets at rest: the state key and the :class:`StateCipher`.

Every :class:`~podium.security.secret.Secret` that reaches state (resource
outputs, generated passwords, intent params) is sealed first: replaced by
``{"$secret": "<Fernet token>"}``. Backends therefore only ever store opaque
tokens and never hold the key.

The key is a Fernet key (urlsafe base64 of 32 random bytes) taken from the
``PODIUM_STATE_KEY`` environment variable or, failing that, a key file that is
created with mode 0600 for state that holds nothing yet (never for existing state). ``cryptography`` is imported only when a
cipher is built, so ``import podium`` stays cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import StateError
from podium.security.private_files import fsync_dir, make_private_dir
from podium.security.secret import Secret

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

KEY_ENV = "PODIUM_STATE_KEY"
KEY_FILE_NAME = "key"
SEALED = "$secret"

# Label for deriving the fingerprint key, so a fingerprint never reveals
# anything about the encryption key itself.
_FINGERPRINT_LABEL = b"podium/fingerprint/v1"


class KeyFileMissingError(StateError):
    """The key file does not exist (and was not to be created)."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"state key file {path} does not exist",
            hint=f"set ${KEY_ENV} or restore the key file",
        )
        self.path = path


class StateCipher:
    """Encrypts and decrypts secret values with one Fernet key.

    ``source`` says where the key came from (``$PODIUM_STATE_KEY`` or the key
    file path); errors mention it so a user knows which key to fix.

    ``previous`` keys only decrypt: while ``podium state rekey`` runs (or after it
    was interrupted) the state holds values sealed with the old key and the new
    one, and both must open until every value is sealed with the new key.
    """

    def __init__(
        self,
        key: bytes | str,
        *,
        source: str = "the given key",
        previous: Sequence[bytes | str] = (),
    ) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        raw = key.encode() if isinstance(key, str) else key
        try:
            self._fernet: Fernet = Fernet(raw)
            older = [Fernet(k.encode() if isinstance(k, str) else k) for k in previous]
        except (ValueError, TypeError):
            raise StateError(
                f"the state encryption key from {source} is malformed: it must be a Fernet key "
                "(urlsafe base64 of 32 bytes)",
                hint="generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
            ) from None
        self.source = source
        self._opener: Fernet | MultiFernet = (
            MultiFernet([self._fernet, *older]) if older else self._fernet
        )
        #: whether older keys are still readable (a rekey has not finished)
        self.rotating = bool(older)
        self._fingerprint_key = hmac.new(raw, _FINGERPRINT_LABEL, hashlib.sha256).digest()

    # --- strings ---------------------------------------------------------------
    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._opener.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError, ValueError):
            # Deliberately no token in the message: it is ciphertext, but noise to the user.
            raise StateError(
                f"the state encryption key from {self.source} does not match the state: "
                "a stored secret cannot be decrypted with it",
                hint=f"use the key this state was written with (set ${KEY_ENV} "
                "or restore the original key file)",
            ) from None

    def reseal(self, token: str) -> str:
        """``token`` sealed with this cipher's own key: unchanged if it already is,
        else opened with a previous key and sealed again (what a rekey does to each value)."""
        from cryptography.fernet import InvalidToken

        try:
            self._fernet.decrypt(token.encode("ascii"))
            return token
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return self.encrypt(self.decrypt(token))

    def opens_alone(self, token: str) -> bool:
        """Whether this cipher's own key (no previous one) decrypts ``token``."""
        from cryptography.fernet import InvalidToken

        try:
            self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return False
        return True

    def fingerprint(self, value: Secret) -> str:
        """A keyed digest of ``value`` that detects a change without storing the plaintext."""
        return value.fingerprint(self._fingerprint_key)

    # --- nested values ---------------------------------------------------------
    def seal(self, value: Any) -> Any:
        """Return ``value`` with every nested Secret replaced by ``{"$secret": token}``."""
        if isinstance(value, Secret):
            return {SEALED: self.encrypt(value.reveal())}
        if isinstance(value, dict):
            return {k: self.seal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.seal(v) for v in value]
        return value

    def unseal(self, value: Any) -> Any:
        """Reverse :meth:`seal`: every ``{"$secret": token}`` becomes a Secret again."""
        if isinstance(value, dict):
            if is_sealed(value):
                return Secret(self.decrypt(value[SEALED]))
            return {k: self.unseal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unseal(v) for v in value]
        return value


def is_sealed(value: object) -> bool:
    """Whether ``value`` is exactly one sealed secret ``{"$secret": "<token>"}``."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and SEALED in value
        and isinstance(value[SEALED], str)
    )


def generate_key() -> str:
    """A new random Fernet key, as text."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def load_state_cipher(
    key_file: Path | str,
    *,
    environ: Mapping[str, str] | None = None,
    create: bool = True,
) -> StateCipher:
    """Build the cipher from ``$PODIUM_STATE_KEY`` or ``key_file``.

    ``key_file`` is normally ``<root state_dir>/key`` or ``[secrets] key_file``.
    A missing key file is created when ``create``, else :class:`KeyFileMissingError`;
    callers pass ``create=False`` for state that already holds data (see
    :mod:`podium.security.key_check`), so a lost key file is never replaced.
    """
    from podium.security.key_slot import KeySlot

    # Through the key slot, so the pending key of an unfinished rekey opens values too.
    return KeySlot(Path(key_file)).load(environ=environ, create=create)


def read_key_file(path: Path) -> bytes:
    """Read a key file, refusing one that other users could read."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyFileMissingError(path) from None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StateError(
            f"state key file {path} is accessible by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); refusing to use it",
            hint=f"restrict it with: chmod 600 {path}",
        )
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise StateError(f"cannot read state key file {path}: {exc.strerror}") from None
    if not key:
        raise StateError(
            f"state key file {path} is empty",
            hint=f"restore the key, or delete {path} if this state holds no secrets yet",
        )
    return key


def create_key_file(path: Path) -> bytes:
    """Create ``path`` holding a new key, atomically; if another process won the race, use theirs.

    The key is written and fsynced to a private temporary file which is then
    hard-linked into place. ``link`` fails if the name exists, so the key file
    appears complete or not at all, and two processes can never end up with
    different keys.
    """
    return write_new_file(path, generate_key().encode("ascii"))


def write_new_file(path: Path, key: bytes) -> bytes:
    """Create ``path`` (mode 0600) holding ``key`` exactly once; if it exists, what it holds.

    See :func:`create_key_file`: complete or absent, never two different contents.
    """
    make_private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            return read_key_file(path)
        fsync_dir(path.parent)
    finally:
        temp.unlink(missing_ok=True)
    return key


def reseal_value(value: Any, reseal: Callable[[str], str]) -> tuple[Any, int]:
    """``value`` with each nested ``{"$secret": token}`` replaced by ``reseal(token)``.

    Returns the new value and how many tokens changed; a state backend's
    :meth:`~podium.platform.contract.StateStore.reseal` uses it on each JSON value.
    """
    if is_sealed(value):
        token = value[SEALED]
        new = reseal(token)
        return ({SEALED: new}, 1) if new != token else (value, 0)
    if isinstance(value, dict):
        changed = 0
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k], n = reseal_value(v, reseal)
            changed += n
        return (out, changed) if changed else (value, 0)
    if isinstance(value, list):
        changed = 0
        items: list[Any] = []
        for v in value:
            item, n = reseal_value(v, reseal)
            items.append(item)
            changed += n
        return (items, changed) if changed else (value, 0)
    return value, 0
