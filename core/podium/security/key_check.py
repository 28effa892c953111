"""The key check: proof, kept in the state, of which key the state is sealed with.

A state (an environment's store, the local secret store) keeps one token: a
known text sealed with its key. Before the core seals or unseals anything with
a key, it opens that token: a wrong key (a mistyped ``PODIUM_STATE_KEY``, a key
file from another platform, a regenerated key file) is refused before any
resource is created or any secret sealed with it. The token is a Fernet token,
so it reveals nothing about the key.

State backends need nothing new for this: an environment's check is a
generated value of the reserved node :data:`KEY_CHECK_NODE`, which every
backend already stores (see :meth:`~podium.platform.contract.StateStore.put_generated`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from podium.errors import StateError
from podium.security.crypto import KEY_ENV, SEALED, KeyFileMissingError, StateCipher, is_sealed

if TYPE_CHECKING:
    from podium.platform.contract import StateStore

#: Reserved node name under which a state store keeps the key check (no workload node has a ':'
#: before its kind, so it cannot collide with a real node's generated values).
KEY_CHECK_NODE = "podium:key-check"
KEY_CHECK_NAME = "v1"
_KNOWN_TEXT = "podium state key check v1"

#: Loads the state key; ``create`` allows making a new key file when none exists.
KeyLoader = Callable[[bool], StateCipher]


def seal_check(cipher: StateCipher) -> str:
    """A new key check token for ``cipher``'s key."""
    return cipher.encrypt(_KNOWN_TEXT)


def opens(cipher: StateCipher, token: str) -> bool:
    """Whether ``token`` was sealed with ``cipher``'s key (it decrypts to the known text)."""
    try:
        return cipher.decrypt(token) == _KNOWN_TEXT
    except StateError:
        return False


def mismatch(cipher: StateCipher, where: str) -> StateError:
    """The error for a key that is not the one ``where`` was sealed with; names the key's source."""
    if cipher.source.startswith("$"):
        fix = f"set {cipher.source} to the key this state was sealed with"
    elif os.sep in cipher.source or "/" in cipher.source:
        fix = (
            f"restore the key file {cipher.source} this state was sealed with "
            f"(or set ${KEY_ENV} to that key)"
        )
    else:
        fix = "use the key this state was sealed with"
    return StateError(
        f"the state key from {cipher.source} does not match the state of {where} "
        "(the key check stored there does not open with it); nothing was changed",
        hint=fix,
    )


def first_sealed_token(value: Any) -> str | None:
    """The first ``{"$secret": token}`` nested in ``value``, to try a key on old state."""
    if is_sealed(value):
        return str(value[SEALED])
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = first_sealed_token(item)
            if found is not None:
                return found
    return None


def holds_data(store: StateStore) -> bool:
    """Whether an environment's state holds anything: a key check, records, history or intents."""
    return (
        store.get_generated(KEY_CHECK_NODE, KEY_CHECK_NAME) is not None
        or store.serial() > 0
        or bool(store.history(1))
        or bool(store.pending_intents())
    )


def bind_store_key(store: StateStore, where: str, load_key: KeyLoader) -> StateCipher:
    """The state key of ``store``, proven to be the one its state is sealed with.

    A new state gets a key check for the key in use (a key file is created if
    needed). State that holds data but no check (written before key checks
    existed) is migrated: the key must open a secret sealed in it, if there is
    one, and then the check is written. A key file is never created for state
    that holds data: a lost key file is an error, not a new key.
    """
    token = store.get_generated(KEY_CHECK_NODE, KEY_CHECK_NAME)
    if token is not None:
        cipher = load_existing_key(load_key, where)
        if not opens(cipher, token):
            raise mismatch(cipher, where)
        return cipher
    existing = holds_data(store)
    cipher = load_existing_key(load_key, where) if existing else load_key(True)
    if existing:
        for record in store.records():
            sealed = first_sealed_token([record.outputs, record.spec])
            if sealed is not None:
                if not opens_any(cipher, sealed):
                    raise mismatch(cipher, where)
                break
    store.put_generated(KEY_CHECK_NODE, KEY_CHECK_NAME, seal_check(cipher))
    return cipher


def load_existing_key(load_key: KeyLoader, where: str) -> StateCipher:
    """Load the key of state that already exists: a missing key file is an error, never a new key."""
    try:
        return load_key(False)
    except KeyFileMissingError as exc:
        raise StateError(
            f"the state of {where} is sealed with a key, but the key file {exc.path} does not "
            "exist; a new key is not made for existing state (it could not open it)",
            hint=f"restore {exc.path} from a backup, or set ${KEY_ENV} to the key",
        ) from None


def opens_any(cipher: StateCipher, token: str) -> bool:
    """Whether ``cipher`` decrypts ``token`` at all (whatever the plaintext)."""
    try:
        cipher.decrypt(token)
    except StateError:
        return False
    return True
