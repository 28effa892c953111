"""``podium state rekey``: a new data key, every sealed value sealed again, crash-safely.

Two phases, so that killing the process at any moment leaves every secret readable:

1. The next key is written beside the current one (``<key file>.pending``, wrapped
   like the current one when a key provider is configured). From then on every
   Podium process seals with the next key and opens with both.
2. Every store that holds sealed values is re-sealed: each environment's state
   (through :meth:`~podium.platform.contract.StateStore.reseal`, under the
   environment's lock) and the local secret store. A store without transactions
   may be left half done by a crash; both keys still open it.
3. A second pass must change nothing (a value written meanwhile is sealed again),
   then the pending file is renamed over the current one: the switch. The old key
   is gone with the rename, and nothing is sealed with it any more.

Rerunning after a crash before the switch finds the pending key and finishes with
it; after the switch there is nothing left to finish (a rerun rotates again).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.engine.audit import now
from podium.errors import PodiumError, StateError
from podium.security.crypto import KEY_ENV

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.platform.contract import StateStore
    from podium.security.crypto import StateCipher
    from podium.security.key_slot import KeySlot
    from podium.security.local_store import LocalSecretStore

#: Passes over every store before the switch: the last must find nothing to re-seal.
_MAX_PASSES = 3


@dataclass
class RekeyResult:
    """What a rekey did: where the new key is, and how many values each store re-sealed."""

    key: str
    resumed: bool  #: a rekey that had stopped before its switch was finished
    resealed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.resealed.values())


def rekey(
    platform: Platform,
    *,
    lock_timeout: float = 0.0,
    on_step: Callable[[str], None] | None = None,
) -> RekeyResult:
    """Rotate ``platform``'s state key (see the module docs); ``on_step`` hears each step
    (``pending``, ``resealed <store>``, ``switched``, ``recorded``) as it completes.

    History gets a ``state rekey`` entry (kind ``state``) in every environment:
    ``running`` from the start, ``succeeded`` after the switch."""
    step = on_step or (lambda _: None)
    if platform.environ.get(KEY_ENV, "").strip():
        raise StateError(
            f"the state key comes from ${KEY_ENV}, which rekey cannot replace",
            hint=f"keep the key in a key file (unset ${KEY_ENV} and write it to "
            "[secrets] key_file), or configure a key provider, then run rekey",
        )
    slot = platform.key_slot()
    _refuse_stores_without_reseal(platform)
    from podium.engine.runtime import LeaseLock

    with ExitStack() as held:
        stores: dict[str, StateStore] = {}
        entries: dict[str, tuple[int, dict[str, Any]]] = {}
        for env in platform.environments:
            lease = held.enter_context(
                LeaseLock(
                    platform.store(env),
                    platform.config.state.lock_ttl,
                    "rekey",
                    actor=platform.actor,
                    timeout=lock_timeout,
                )
            )
            platform.cipher(env)  # the key in use must be the one this state is sealed with
            stores[env] = lease.fenced
            # History says a rekey runs; a rekey killed before its end is left "running",
            # and the next run that takes the lock over marks it aborted.
            entry = _entry(platform.actor, lease.run_id)
            entries[env] = (lease.fenced.add_history(entry), entry)
        locals_ = _local_secret_stores(platform)
        for store in locals_:
            if store.holds_data():
                _ = store.cipher  # the same check for the secret store

        try:
            result = _rotate(platform, slot, stores, locals_, step)
        except Exception as exc:
            # Not killed but failed (a value no key opens, a store refusing): say so in
            # history; the pending key stays, so a rerun picks up from here.
            reason = exc.message if isinstance(exc, PodiumError) else type(exc).__name__
            for env, (entry_id, entry) in entries.items():
                with contextlib.suppress(Exception):
                    stores[env].update_history(
                        entry_id,
                        {**entry, "status": "failed", "error": reason, "finished_at": now()},
                    )
            raise
        summary = (
            f"rotated the state key ({slot.source(slot.path)}); re-sealed {result.total} values"
            + (" (finished an interrupted rekey)" if result.resumed else "")
        )
        for env, (entry_id, entry) in entries.items():
            stores[env].update_history(
                entry_id, {**entry, "status": "succeeded", "summary": summary, "finished_at": now()}
            )
        step("recorded")
    return result


def _rotate(
    platform: Platform,
    slot: KeySlot,
    stores: dict[str, StateStore],
    locals_: list[LocalSecretStore],
    step: Callable[[str], None],
) -> RekeyResult:
    """The two phases: the pending key, every store re-sealed until nothing is left, the switch."""
    resumed = slot.pending.exists()
    slot.create(slot.pending)
    step("pending")
    cipher = slot.load(create=False, environ=platform.environ)
    platform.forget_key()  # this process seals with the next key from now on too
    result = RekeyResult(key=str(slot.path), resumed=resumed)
    for _ in range(_MAX_PASSES):
        if not _reseal_all(cipher, stores, locals_, result, step):
            break
    else:
        raise StateError(
            "values sealed with the old key keep appearing while rekey runs (another "
            "Podium process writes secrets); the key was not switched",
            hint="stop other podium commands and run 'podium state rekey' again",
        )
    slot.switch()
    platform.forget_key()
    step("switched")
    return result


def _entry(actor: str, run_id: str) -> dict[str, Any]:
    """The history entry of a rekey that has begun (kind ``state``, like the other
    ``podium state`` commands)."""
    return {
        "run_id": run_id,
        "operation": "state rekey",
        "kind": "state",
        "who": actor,
        "started_at": now(),
        "finished_at": None,
        "status": "running",
        "summary": "rotating the state key",
        "workloads": [],
        "changes": [],
    }


def _reseal_all(
    cipher: StateCipher,
    stores: dict[str, StateStore],
    locals_: list[LocalSecretStore],
    result: RekeyResult,
    step: Callable[[str], None],
) -> int:
    changed = 0
    for env, store in stores.items():
        count = store.reseal(cipher.reseal)
        result.resealed[f"state {env}"] = result.resealed.get(f"state {env}", 0) + count
        changed += count
        step(f"resealed state {env}")
    for local in locals_:
        count = local.reseal(cipher.reseal)
        result.resealed[f"secrets {local.path}"] = (
            result.resealed.get(f"secrets {local.path}", 0) + count
        )
        changed += count
        step(f"resealed secrets {local.path}")
    return changed


def _refuse_stores_without_reseal(platform: Platform) -> None:
    """Fail before anything changes when a state backend cannot re-seal (plugin API < 1.3)."""
    from podium.platform.contract import StateStore

    for env in platform.environments:
        store = platform.store(env)
        if type(store).reseal is StateStore.reseal:
            store.reseal(lambda token: token)  # raises the contract's own refusal


def _local_secret_stores(platform: Platform) -> list[LocalSecretStore]:
    """Every registered store sealed with the state key (the core's local store)."""
    from podium.plugins.kinds import SECRET_STORES
    from podium.security.local_store import LocalSecretStore

    found: list[LocalSecretStore] = []
    for registered in platform.plugins.registrations(SECRET_STORES).values():
        if isinstance(registered.obj, LocalSecretStore) and all(
            registered.obj.path != other.path for other in found
        ):
            found.append(registered.obj)
    return found
