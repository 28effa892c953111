"""Where the state's data key lives, and the pending key of an unfinished rekey.

A :class:`KeySlot` is a key file: either the Fernet key itself, or (with
``[secrets] key_provider``) that key wrapped by a :class:`KeyProvider`
(envelope encryption: only the wrapped form is stored, the plain key stays in
memory).

``podium state rekey`` writes the next key beside the current one as
``<file>.pending`` before it re-seals anything. While that file exists, the
cipher seals with the pending key and opens with both, so every value stays
readable whether it was re-sealed yet or not; renaming the pending file over
the current one is the switch (see :mod:`podium.security.rekey`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from podium.errors import PodiumError, StateError
from podium.security.crypto import (
    KEY_ENV,
    KeyFileMissingError,
    StateCipher,
    generate_key,
    read_key_file,
    write_new_file,
)
from podium.security.private_files import fsync_dir

if TYPE_CHECKING:
    from podium.security.contract import KeyProvider

PENDING_SUFFIX = ".pending"
WRAPPED_KEY_FILE_NAME = "key.wrapped"


@dataclass(frozen=True)
class KeyWrapping:
    """A key provider (registered by ``plugin``) and its key that wraps the data key."""

    provider: KeyProvider
    plugin: str
    wrapping_key: str

    def describe(self) -> str:
        return (
            f"key provider {self.provider.name!r} (plugin {self.plugin}, "
            f"wrapping key {self.wrapping_key!r})"
        )


@dataclass(frozen=True)
class KeySlot:
    """The file holding the state's data key, plain or wrapped (``wrapping``)."""

    path: Path
    wrapping: KeyWrapping | None = None

    @property
    def pending(self) -> Path:
        return self.path.with_name(self.path.name + PENDING_SUFFIX)

    # --- loading ------------------------------------------------------------------
    def load(self, *, environ: Mapping[str, str] | None = None, create: bool) -> StateCipher:
        """The cipher: ``$PODIUM_STATE_KEY``, else the key file (with a pending key, both).

        A missing key file is created when ``create`` (never while a pending key
        exists: that is a rekey whose current key was lost), else
        :class:`~podium.security.crypto.KeyFileMissingError`.
        """
        env = os.environ if environ is None else environ
        from_env = env.get(KEY_ENV, "").strip()
        if from_env:
            return StateCipher(from_env, source=f"${KEY_ENV}")
        if not self.path.exists() and create and not self.pending.exists():
            key = self.create(self.path)
        else:
            key = self.read(self.path)
        source = self.source(self.path)
        if not self.pending.exists():
            return StateCipher(key, source=source)
        return StateCipher(
            self.read(self.pending),
            source=f"{source} (rekey unfinished: {self.pending.name} is the next key)",
            previous=[key],
        )

    def source(self, path: Path) -> str:
        if self.wrapping is None:
            return str(path)
        return f"{path} (wrapped by {self.wrapping.describe()})"

    def read(self, path: Path) -> bytes:
        """The plain data key kept in ``path``."""
        stored = read_key_file(path)
        if self.wrapping is None:
            return stored
        return self._unwrap(path, stored)

    def create(self, path: Path) -> bytes:
        """Create ``path`` with a new data key (wrapped if so configured); if it exists
        already (another process won, or a rekey is resumed), the key it holds."""
        key = generate_key().encode("ascii")
        if self.wrapping is None:
            return write_new_file(path, key)
        wrapped = self._wrap(key).encode("ascii")
        stored = write_new_file(path, wrapped)
        return key if stored == wrapped else self._unwrap(path, stored)

    def switch(self) -> None:
        """Make the pending key the current one: one atomic rename, then fsync the folder."""
        os.replace(self.pending, self.path)
        fsync_dir(self.path.parent)

    # --- the provider -------------------------------------------------------------
    def _wrap(self, key: bytes) -> str:
        wrapping = self.wrapping
        assert wrapping is not None
        try:
            wrapped = wrapping.provider.wrap(wrapping.wrapping_key, key)
        except Exception as exc:
            raise self._failed("wrap a new", self.path, exc) from None
        if not isinstance(wrapped, str) or not wrapped.strip() or "\n" in wrapped:
            raise StateError(
                f"{wrapping.describe()} returned no usable wrapped key (one line of text)"
            )
        return wrapped.strip()

    def _unwrap(self, path: Path, stored: bytes) -> bytes:
        wrapping = self.wrapping
        assert wrapping is not None
        try:
            key = wrapping.provider.unwrap(wrapping.wrapping_key, stored.decode("ascii"))
        except Exception as exc:
            raise self._failed("unwrap the", path, exc) from None
        if not isinstance(key, bytes):
            raise StateError(f"{wrapping.describe()} returned a {type(key).__name__}, not bytes")
        return key

    def _failed(self, doing: str, path: Path, exc: Exception) -> StateError:
        # Fail closed: without the data key nothing sealed is read or written. The
        # provider's own message is kept only when it is a Podium error (worded for
        # users, free of secrets); anything else is named by its type.
        wrapping = self.wrapping
        assert wrapping is not None
        reason = exc.message if isinstance(exc, PodiumError) else type(exc).__name__
        return StateError(
            f"{wrapping.describe()} could not {doing} state key ({path}): {reason}; "
            "nothing sealed is read or written without it",
            hint=f"check that plugin {wrapping.plugin} can reach its service and may use "
            f"the key {wrapping.wrapping_key!r}",
        )


__all__ = [
    "PENDING_SUFFIX",
    "WRAPPED_KEY_FILE_NAME",
    "KeyFileMissingError",
    "KeySlot",
    "KeyWrapping",
]
