"""The :class:`~podium.platform.StateBackend` conformance kit, ``journal`` included.

Re-exported by :mod:`podium.testing.conformance`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from podium.errors import LeaseLostError, LockedError
from podium.platform.context import EnvironmentInfo
from podium.testing._report import broken, call, describe, expect, redact_text, valid_name
from podium.testing.journal_kit import JournalConformance


class StateBackendConformance(JournalConformance):
    """The :class:`~podium.platform.StateBackend` contract, ``journal`` included.

    Provide ``state_backend``; override ``state_options`` for its ``[state] options``.
    """

    @pytest.fixture
    def state_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def state_store(
        self, state_backend: Any, podium_env: EnvironmentInfo, state_options: dict[str, Any]
    ) -> Iterator[Any]:
        store = call("open()", state_backend.open, podium_env, dict(state_options))
        yield store
        call("close() in the kit's cleanup", store.close)

    @staticmethod
    def _record(uid: str = "resource:postgres.default#web.db", **changes: Any) -> Any:
        from podium.platform.contract import ResourceRecord

        data: dict[str, Any] = {
            "uid": uid,
            "kind": "resource",
            "provider": "conformance",
            "plugin": "conformance",
            "spec": {"params": {"size": 1}},
            "spec_hash": "abc123",
            "outputs": {"host": "127.0.0.1", "password": {"$secret": "opaque-token"}},
            "physical_name": "test-dev-web-db",
            "depends_on": [],
        }
        data.update(changes)
        return ResourceRecord(**data)

    @staticmethod
    def _lock(run_id: str, *, ttl: float = 60.0, pid: int | None = None) -> Any:
        from podium.platform.contract import LockInfo
        from podium.state.lease import lease_identity

        now = time.time()
        me = lease_identity()
        return LockInfo(
            owner="conformance@" + socket.gethostname(),
            host=socket.gethostname(),
            pid=os.getpid() if pid is None else pid,
            run_id=run_id,
            acquired_at=now,
            expires_at=now + ttl,
            boot_id=me.boot_id,
            pid_namespace=me.pid_namespace,
        )

    @staticmethod
    def _holder(store: Any, when: str) -> str | None:
        info = call(f"lock_info() {when}", store.lock_info)
        return None if info is None else str(info.run_id)

    def test_registration_name_is_valid(self, state_backend: Any) -> None:
        valid_name(getattr(state_backend, "name", None), "state backend")

    def test_records_round_trip(self, state_store: Any) -> None:
        serial = call("serial()", state_store.serial)
        record = self._record()
        call("put_record()", state_store.put_record, record)
        expect(
            call("serial()", state_store.serial) > serial,
            "serial-increases",
            "serial() increases with every change to records (saved plans compare it)",
            f"serial stayed {serial} after put_record",
        )
        stored = call("records()", state_store.records)
        expect(
            [r.uid for r in stored] == [record.uid],
            "records-round-trip",
            "records() returns what put_record stored",
            f"after one put_record, records() returned uids {[r.uid for r in stored]}",
        )
        attributes = ("uid", "kind", "provider", "plugin", "spec", "spec_hash", "outputs")
        changed = [
            a for a in (*attributes, "physical_name") if getattr(stored[0], a) != getattr(record, a)
        ]
        expect(
            not changed,
            "records-round-trip",
            "records() returns every field put_record stored, unchanged",
            f"fields {', '.join(changed)} came back changed",
        )
        changed_record = self._record(outputs={"host": "10.0.0.1"})
        call("put_record() of a changed record", state_store.put_record, changed_record)
        outputs = [r.outputs for r in call("records()", state_store.records)]
        expect(
            outputs == [{"host": "10.0.0.1"}],
            "put-record-replaces",
            "put_record of an existing uid replaces its record",
            f"records() then held outputs {outputs}",
        )
        call("delete_record()", state_store.delete_record, record.uid)
        left = [r.uid for r in call("records()", state_store.records)]
        expect(
            left == [],
            "delete-record-removes",
            "delete_record removes the record",
            f"records() still returned {left}",
        )

    def test_intents_stay_pending_until_completed(self, state_store: Any) -> None:
        from podium.platform.contract import Intent

        intent = Intent(node="resource:x", action="create", spec={"p": 1}, run_id="run-1")
        intent_id = call("begin_intent()", state_store.begin_intent, intent)
        pending = [
            (i.id, i.node, i.action) for i in call("pending_intents()", state_store.pending_intents)
        ]
        requires = "an intent stays pending from begin_intent until complete_intent"
        expect(
            pending == [(intent_id, "resource:x", "create")],
            "intents-stay-pending",
            requires,
            f"after begin_intent, pending_intents (id, node, action) returned {pending}",
        )
        call(
            "complete_intent(record=...)",
            state_store.complete_intent,
            intent_id,
            record=self._record("resource:x"),
        )
        left = call("pending_intents()", state_store.pending_intents)
        expect(
            left == [],
            "intents-stay-pending",
            requires,
            f"{len(left)} pending after complete_intent",
        )
        uids = [r.uid for r in call("records()", state_store.records)]
        expect(
            uids == ["resource:x"],
            "complete-intent-writes-the-record",
            "complete_intent(record=...) writes the record with closing the intent",
            f"records() returned uids {uids}",
        )
        second = call(
            "begin_intent()",
            state_store.begin_intent,
            Intent(node="resource:x", action="delete", spec={}, run_id="run-2"),
        )
        call(
            "complete_intent(delete_uid=...)",
            state_store.complete_intent,
            second,
            delete_uid="resource:x",
        )
        left = call("pending_intents()", state_store.pending_intents)
        expect(
            left == [],
            "intents-stay-pending",
            requires,
            f"{len(left)} pending after complete_intent",
        )
        uids = [r.uid for r in call("records()", state_store.records)]
        expect(
            uids == [],
            "complete-intent-deletes-the-record",
            "complete_intent(delete_uid=...) removes the record with closing the intent",
            f"records() returned uids {uids}",
        )

    def test_generated_values(self, state_store: Any) -> None:
        requires = (
            "get_generated returns what put_generated stored, None once forgotten or never put"
        )
        found = call(
            "get_generated() of a value never put",
            state_store.get_generated,
            "resource:x",
            "password",
        )
        expect(
            found is None,
            "generated-values",
            requires,
            f"a value never put came back as {describe(found)}",
        )
        call("put_generated()", state_store.put_generated, "resource:x", "password", "token-1")
        found = call("get_generated()", state_store.get_generated, "resource:x", "password")
        expect(
            found == "token-1", "generated-values", requires, f"get_generated returned {found!r}"
        )
        call("forget_generated()", state_store.forget_generated, "resource:x")
        found = call(
            "get_generated() after forget", state_store.get_generated, "resource:x", "password"
        )
        expect(found is None, "generated-values", requires, "the value survived forget_generated")

    def test_record_bookkeeping_round_trips(self, state_store: Any) -> None:
        # The engine's notes on a record (what was applied, a failed or rolled-back
        # release): a backend that drops them redeploys, or never retries, a deployment.
        record = self._record(
            "deployment:web",
            kind="deployment",
            spec={"digest": "d", "params": {"_tier": "a param, not bookkeeping"}},
            digest="rendered",
            failed_release=3,
            rolled_back_to=2,
            attributes={"containers.main.image": "web:1"},
        )
        call("put_record()", state_store.put_record, record)
        [stored] = [r for r in call("records()", state_store.records) if r.uid == record.uid]
        names = ("spec", "digest", "failed_release", "rolled_back_to", "attributes")
        changed = [name for name in names if getattr(stored, name) != getattr(record, name)]
        expect(
            not changed,
            "record-bookkeeping",
            "a record's bookkeeping (digest, failed_release, rolled_back_to, attributes) is "
            "stored and read back beside its spec (ResourceRecord.to_dict/from_dict keep it)",
            f"fields {', '.join(changed)} came back changed",
        )

    def test_record_owner_round_trips(self, state_store: Any) -> None:
        # Ownership checks read the owner back: a backend that drops it lets any team
        # take over another's workloads.
        from podium.platform.contract import Intent, IntentOutcome

        requires = (
            "a record's owner is stored and read back, by put_record and by journaled outcomes"
        )
        call("put_record()", state_store.put_record, self._record(owner="teams/payments"))
        call(
            "put_record()",
            state_store.put_record,
            self._record("deployment:web", kind="deployment"),
        )
        owners = {r.uid: r.owner for r in call("records()", state_store.records)}
        expect(
            owners
            == {"resource:postgres.default#web.db": "teams/payments", "deployment:web": None},
            "record-owner",
            requires,
            f"records() returned the owners {owners!r}",
        )
        [intent_id] = call(
            "begin_intents()",
            state_store.begin_intents,
            [Intent(node="deployment:web", action="deploy", spec={}, run_id="run-1")],
        )
        call(
            "complete_intents()",
            state_store.complete_intents,
            [IntentOutcome(intent_id, record=self._record("deployment:web", owner="payments"))],
        )
        owner = {r.uid: r.owner for r in call("records()", state_store.records)}["deployment:web"]
        expect(
            owner == "payments",
            "record-owner",
            requires,
            f"after a journaled outcome the owner read back is {owner!r}",
        )

    def test_key_check_is_kept_and_refuses_another_key(
        self,
        state_store: Any,
        state_backend: Any,
        podium_env: EnvironmentInfo,
        state_options: dict[str, Any],
    ) -> None:
        """The core keeps its key check as a generated value; it must survive a reopen
        and must not move the serial (a saved plan stays applicable)."""
        from podium.errors import StateError
        from podium.security.crypto import StateCipher, generate_key
        from podium.security.key_check import bind_store_key

        requires = (
            "the key check (a generated value) survives a reopen, never moves the serial, "
            "and is kept when another node's generated values are forgotten"
        )
        right = StateCipher(generate_key(), source="the right key")
        wrong = StateCipher(generate_key(), source="the wrong key")
        serial = call("serial()", state_store.serial)
        bound = bind_store_key(state_store, "conformance", lambda create: right)
        expect(bound is right, "key-check", requires, "the key check did not bind the right key")
        after = call("serial()", state_store.serial)
        expect(after == serial, "key-check", requires, f"the serial moved {serial} -> {after}")
        call("forget_generated()", state_store.forget_generated, "resource:x")
        reopened = call("open()", state_backend.open, podium_env, dict(state_options))
        try:
            with pytest.raises(StateError, match="the wrong key does not match"):
                bind_store_key(reopened, "conformance", lambda create: wrong)
            again = bind_store_key(reopened, "conformance", lambda create: right)
            expect(again is right, "key-check", requires, "the reopened store lost its key check")
        finally:
            reopened.close()

    def test_reseal_reseals_every_sealed_value(self, state_store: Any) -> None:
        """``reseal`` (plugin API 1.3, ``podium state rekey``) reaches every sealed value:
        records, intents, generated values and releases; a second call changes nothing.
        History is not among them: it is the append-only audit trail, and Podium writes no
        sealed value into it. A backend without ``reseal`` is skipped here (and rekey
        refuses it)."""
        from podium.errors import StateError
        from podium.platform.contract import Intent, StateStore
        from podium.security.crypto import StateCipher, generate_key
        from podium.security.secret import Secret

        if type(state_store).reseal is StateStore.reseal:
            pytest.skip(
                "the backend implements no StateStore.reseal: podium state rekey refuses it"
            )
        requires = "reseal re-seals every sealed value the store keeps, and only once"
        old_key, new_key = generate_key(), generate_key()
        old = StateCipher(old_key)
        both = StateCipher(new_key, previous=[old_key])
        new_only = StateCipher(new_key)

        def sealed(label: str) -> Any:
            return old.seal({"value": Secret(label), "plain": label, "list": [Secret(label)]})

        call(
            "put_record()",
            state_store.put_record,
            self._record(spec={"params": sealed("spec")}, outputs=sealed("outputs")),
        )
        # A journal that loses intents fails the journal tests, not this one.
        with contextlib.suppress(Exception):
            state_store.begin_intent(
                Intent(node="resource:x", action="create", spec=sealed("intent"), run_id="r")
            )
        call("put_generated()", state_store.put_generated, "resource:x", "pw", old.encrypt("gen"))
        call("add_release()", state_store.add_release, "web", {"env": sealed("release")})
        serial = call("serial()", state_store.serial)
        changed = call("reseal()", state_store.reseal, both.reseal)
        # 2 tokens per sealed value, 1 generated; an intent the journal lost is the
        # journal tests' business, so only the intents still pending are counted here
        intents = call("pending_intents()", state_store.pending_intents)
        visible = 7 + 2 * len([i for i in intents if i.node == "resource:x"])
        expect(changed >= visible, "reseal", requires, f"reseal reported {changed} of {visible}")
        again = call("reseal() again", state_store.reseal, both.reseal)
        expect(again == 0, "reseal", requires, f"a second reseal changed {again} values")
        try:
            [record] = call("records()", state_store.records)
            [release] = call("releases()", state_store.releases, "web")
            seen = [
                new_only.unseal(record.spec)["params"]["value"].reveal(),
                new_only.unseal(record.outputs)["list"][0].reveal(),
                new_only.decrypt(str(state_store.get_generated("resource:x", "pw"))),
                new_only.unseal(release["env"])["list"][0].reveal(),
            ] + [
                new_only.unseal(i.spec)["value"].reveal()
                for i in call("pending_intents()", state_store.pending_intents)
                if i.node == "resource:x"
            ]
        except StateError:
            broken("reseal", requires, "a value still opens only with the old key")
        expect(
            seen[:4] == ["spec", "outputs", "gen", "release"]
            and all(v == "intent" for v in seen[4:]),
            "reseal",
            requires,
            "the re-sealed values changed",
        )
        expect(record.spec_hash == "abc123", "reseal", requires, "reseal changed a record's fields")
        after = call("serial()", state_store.serial)
        expect(after >= serial, "reseal", requires, "the serial went back")

    def test_lock_contention_raises_locked(self, state_store: Any) -> None:
        call("acquire_lock(run-a)", state_store.acquire_lock, self._lock("run-a"))
        try:
            state_store.acquire_lock(self._lock("run-b"))
        except LockedError:
            pass
        except Exception as exc:
            broken(
                "lock-contention",
                "acquire_lock of a held lock raises LockedError",
                f"it raised {type(exc).__name__}: {redact_text(str(exc))}",
            )
        else:
            broken(
                "lock-contention",
                "acquire_lock of a held lock raises LockedError",
                "run-b took the lock run-a holds",
            )
        holder = self._holder(state_store, "while run-a holds it")
        expect(
            holder == "run-a",
            "lock-info",
            "lock_info names the holder",
            f"lock_info named {holder!r}",
        )
        call("release_lock(run-a)", state_store.release_lock, "run-a")
        holder = self._holder(state_store, "after release")
        expect(
            holder is None,
            "release-lock",
            "release_lock frees the lock",
            f"lock_info still names {holder!r}",
        )
        call("acquire_lock(run-b) after release", state_store.acquire_lock, self._lock("run-b"))
        call("release_lock(run-b)", state_store.release_lock, "run-b")

    def test_expired_lease_can_be_taken(self, state_store: Any) -> None:
        call(
            "acquire_lock(run-old, expired)",
            state_store.acquire_lock,
            self._lock("run-old", ttl=-1.0),
        )
        call(
            "acquire_lock(run-new) over an expired lease",
            state_store.acquire_lock,
            self._lock("run-new"),
        )
        holder = self._holder(state_store, "after taking an expired lease")
        expect(
            holder == "run-new",
            "expired-lease",
            "an expired lease can be taken by another run",
            f"lock_info names {holder!r}",
        )
        call("release_lock(run-new)", state_store.release_lock, "run-new")

    def test_force_unlock_returns_the_holder(self, state_store: Any) -> None:
        call("acquire_lock(run-a)", state_store.acquire_lock, self._lock("run-a"))
        removed = call("force_unlock()", state_store.force_unlock)
        requires = "force_unlock removes the lock and returns the LockInfo it removed"
        expect(
            removed is not None and removed.run_id == "run-a",
            "force-unlock",
            requires,
            f"it returned {removed!r}",
        )
        holder = self._holder(state_store, "after force_unlock")
        expect(holder is None, "force-unlock", requires, f"lock_info still names {holder!r}")

    def _epoch(self, store: Any, run_id: str) -> int:
        info = call("lock_info()", store.lock_info)
        expect(
            info is not None and info.run_id == run_id,
            "fencing-epoch",
            "lock_info names the run that just took the lock",
            f"lock_info returned {info!r}",
        )
        return int(info.epoch)

    def test_each_new_lease_gets_a_higher_epoch(self, state_store: Any) -> None:
        requires = (
            "each new lease gets an epoch above every earlier one; the same run keeps its own"
        )
        call("acquire_lock(run-a)", state_store.acquire_lock, self._lock("run-a"))
        first = self._epoch(state_store, "run-a")
        call("acquire_lock(run-a) again", state_store.acquire_lock, self._lock("run-a"))
        again = self._epoch(state_store, "run-a")
        call("release_lock(run-a)", state_store.release_lock, "run-a")
        call("acquire_lock(run-b)", state_store.acquire_lock, self._lock("run-b"))
        second = self._epoch(state_store, "run-b")
        call("release_lock(run-b)", state_store.release_lock, "run-b")
        expect(
            first > 0 and again == first and second > first,
            "fencing-epoch",
            requires,
            f"run-a got {first}, then {again} when taking it again; run-b got {second}",
        )

    def _writes(self, store: Any) -> dict[str, Any]:
        """Every kind of write, each a callable of the store."""
        return {
            "put_record": lambda: store.put_record(self._record("resource:fence")),
            "delete_record": lambda: store.delete_record("resource:kept"),
            "begin_intent": lambda: store.begin_intent(self._intent("resource:fence")),
            "put_generated": lambda: store.put_generated("resource:fence", "k", "token"),
            "forget_generated": lambda: store.forget_generated("resource:kept"),
            "add_history": lambda: store.add_history({"operation": "apply"}),
            "add_release": lambda: store.add_release("fenced", {"deployer": "x"}),
        }

    @staticmethod
    def _intent(node: str) -> Any:
        from podium.platform.contract import Intent

        return Intent(node=node, action="create", spec={"provider": "x"}, run_id="run-a")

    def test_a_stale_epoch_write_is_refused(self, state_store: Any) -> None:
        requires = (
            "every write through fenced(epoch) raises LeaseLostError once a later lease "
            "exists, and changes nothing"
        )
        call("put_record(kept)", state_store.put_record, self._record("resource:kept"))
        call("acquire_lock(run-a)", state_store.acquire_lock, self._lock("run-a", ttl=-1.0))
        stale = call("fenced(epoch)", state_store.fenced, self._epoch(state_store, "run-a"))
        call("a write of the lease holder", stale.put_generated, "resource:kept", "k", "v")
        # run-a's lease expired (paused past its TTL): run-b takes over.
        call(
            "acquire_lock(run-b) over the expired lease",
            state_store.acquire_lock,
            self._lock("run-b"),
        )
        current = call("fenced(epoch)", state_store.fenced, self._epoch(state_store, "run-b"))
        history = call("add_history()", current.add_history, {"operation": "apply"})
        serial = call("serial()", state_store.serial)
        pending = len(call("pending_intents()", state_store.pending_intents))
        writes = {
            **self._writes(stale),
            "journal": lambda: stale.journal([], [self._intent("resource:fence")]),
            "update_history": lambda: stale.update_history(history, {"operation": "x"}),
        }
        for name, write in writes.items():
            try:
                write()
            except LeaseLostError:
                continue
            except Exception as exc:
                broken(
                    "fencing",
                    requires,
                    f"{name} of the stale lease raised {type(exc).__name__}: "
                    f"{redact_text(str(exc))}",
                )
            broken("fencing", requires, f"{name} of the stale lease was accepted")
        uids = {r.uid for r in call("records()", state_store.records)}
        expect(
            uids == {"resource:kept"}
            and call("serial()", state_store.serial) == serial
            and len(call("pending_intents()", state_store.pending_intents)) == pending
            and call("releases()", state_store.releases, "fenced") == [],
            "fencing",
            requires,
            f"the refused writes changed the state (records {sorted(uids)})",
        )
        for name, write in self._writes(current).items():
            call(f"{name} of the current lease", write)
        call("release_lock(run-b)", state_store.release_lock, "run-b")

    def test_force_unlock_fences_the_removed_holder(self, state_store: Any) -> None:
        call("acquire_lock(run-a)", state_store.acquire_lock, self._lock("run-a"))
        stale = call("fenced(epoch)", state_store.fenced, self._epoch(state_store, "run-a"))
        call("force_unlock()", state_store.force_unlock)
        try:
            stale.put_record(self._record("resource:after-unlock"))
        except LeaseLostError:
            return
        broken(
            "fencing-unlock",
            "after force_unlock, writes of the removed lease raise LeaseLostError",
            "put_record of the removed lease was accepted",
        )

    def test_history_is_numbered_most_recent_first(self, state_store: Any) -> None:
        first = call(
            "add_history()", state_store.add_history, {"operation": "apply", "status": "running"}
        )
        second = call(
            "add_history()", state_store.add_history, {"operation": "destroy", "status": "running"}
        )
        expect(
            second > first,
            "history-numbering",
            "history entry ids increase",
            f"ids {first} then {second}",
        )
        call(
            "update_history()",
            state_store.update_history,
            first,
            {"operation": "apply", "status": "succeeded"},
        )
        entries = call("history()", state_store.history)
        ids = [e["id"] for e in entries]
        expect(
            ids == [second, first],
            "history-order",
            "history() lists entries most recent first, with their ids",
            f"ids {ids}",
        )
        expect(
            entries[1]["status"] == "succeeded",
            "update-history",
            "update_history replaces an entry",
            f"the entry's status is {entries[1]['status']!r}",
        )
        limited = call("history(limit=1)", state_store.history, limit=1)
        expect(
            len(limited) == 1,
            "history-limit",
            "history(limit=N) returns at most N entries",
            f"it returned {len(limited)}",
        )

    def test_releases_are_numbered_per_workload(self, state_store: Any) -> None:
        numbers = [
            call(f"add_release({w!r})", state_store.add_release, w, {"deployer": "x"})
            for w in ("web", "web", "worker")
        ]
        requires = "release numbers count from 1 per workload"
        expect(
            numbers == [1, 2, 1], "release-numbering", requires, f"web, web, worker got {numbers}"
        )
        listed = [r["number"] for r in call("releases('web')", state_store.releases, "web")]
        expect(
            listed == [1, 2],
            "release-listing",
            "releases(workload) lists its releases oldest first",
            f"releases('web') listed {listed}",
        )
        none = call("releases('nothing')", state_store.releases, "nothing")
        expect(
            none == [],
            "release-listing",
            "releases of a workload never released is []",
            f"it returned {len(none)} entries",
        )
