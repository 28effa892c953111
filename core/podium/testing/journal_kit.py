"""Checks of ``StateStore.journal``, the engine's batch journal (part of the state-backend kit).

The engine calls ``journal(outcomes, intents)`` once per scheduling round: it closes
the intents whose side effects ended (writing or deleting their nodes' records) and
records the intents it is about to start. These checks are mixed into
:class:`~podium.testing.conformance.StateBackendConformance`; they need its
``state_store`` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from podium.errors import PodiumError
from podium.platform.contract import (
    Intent,
    IntentOutcome,
    ResourceRecord,
    StateStore,
    TransactionalStateStore,
)
from podium.testing._report import broken, call


def _intent(node: str, action: str = "create") -> Intent:
    return Intent(node=node, action=action, spec={"physical_name": node}, run_id="run-journal")


def _record(uid: str) -> ResourceRecord:
    return ResourceRecord(
        uid=uid,
        kind="resource",
        provider="conformance",
        plugin="conformance",
        spec={"params": {}},
        spec_hash="journal",
        outputs={"host": "127.0.0.1"},
        physical_name=uid.rsplit(":", 1)[-1],
    )


def _pending(store: StateStore) -> list[tuple[Any, str, str, dict[str, Any], str]]:
    return [
        (i.id, i.node, i.action, i.spec, i.run_id)
        for i in call("pending_intents()", store.pending_intents)
    ]


def _uids(store: StateStore) -> list[str]:
    return sorted(r.uid for r in call("records()", store.records))


def _ids_for(store: StateStore, intents: Sequence[Intent]) -> list[int]:
    ids = call("journal([], intents)", store.journal, [], intents)
    if (
        not isinstance(ids, list)
        or len(ids) != len(intents)
        or not all(isinstance(i, int) for i in ids)
    ):
        broken(
            "journal-returns-one-id-per-intent",
            "journal returns a list with the new id of every intent, in the order given",
            f"journal of {len(intents)} intents returned {ids!r}",
        )
    return ids


class JournalConformance:
    """``journal`` keeps the intent journal the engine's crash recovery relies on."""

    def test_journal_records_intents_in_order(self, state_store: StateStore) -> None:
        intents = [_intent(f"resource:journal-{n}") for n in range(3)]
        ids = _ids_for(state_store, intents)
        if len(set(ids)) != len(ids) or ids != sorted(ids):
            broken(
                "journal-ids-increase",
                "each new intent gets a distinct id, increasing in the order given",
                f"journal returned ids {ids}",
            )
        expected = [
            (i, x.node, x.action, x.spec, x.run_id) for i, x in zip(ids, intents, strict=True)
        ]
        pending = _pending(state_store)
        lost = [node for (_, node, *_rest) in expected if node not in {p[1] for p in pending}]
        if lost:
            broken(
                "journal-keeps-every-intent",
                "every intent journal records stays pending until its outcome is journaled",
                f"intents for {', '.join(lost)} were journaled but are not pending",
            )
        if pending != expected:
            broken(
                "journal-keeps-every-intent",
                "pending_intents returns the journaled intents (id, node, action, spec, run_id) "
                "in id order",
                f"journaled {expected}, pending_intents returned {pending}",
            )

    def test_journal_closes_outcomes_and_opens_intents(self, state_store: StateStore) -> None:
        call("put_record", state_store.put_record, _record("resource:journal-gone"))
        created, deleted = _ids_for(
            state_store,
            [_intent("resource:journal-made"), _intent("resource:journal-gone", "delete")],
        )
        serial = call("serial()", state_store.serial)
        outcomes = [
            IntentOutcome(created, record=_record("resource:journal-made")),
            IntentOutcome(deleted, delete_uid="resource:journal-gone"),
        ]
        [opened] = call(
            "journal(outcomes, intents)",
            state_store.journal,
            outcomes,
            [_intent("resource:journal-next")],
        )
        pending = [(p[0], p[1]) for p in _pending(state_store)]
        if pending != [(opened, "resource:journal-next")]:
            broken(
                "journal-closes-and-opens",
                "after journal(outcomes, intents) the closed intents are gone and the new one "
                "is pending",
                f"pending intents (id, node) are {pending}, expected {[(opened, 'resource:journal-next')]}",
            )
        if opened <= deleted:
            broken(
                "journal-ids-increase",
                "ids keep increasing across journal calls",
                f"the new intent got id {opened} after id {deleted}",
            )
        uids = _uids(state_store)
        if uids != ["resource:journal-made"]:
            broken(
                "journal-writes-outcome-records",
                "an outcome's record is written and its delete_uid's record removed",
                f"records are {uids}, expected ['resource:journal-made']",
            )
        if call("serial()", state_store.serial) <= serial:
            broken(
                "journal-bumps-serial",
                "serial() increases when journal changes records (saved plans compare it)",
                f"serial stayed {serial}",
            )

    def test_journal_of_nothing_changes_nothing(self, state_store: StateStore) -> None:
        serial = call("serial()", state_store.serial)
        result = call("journal([], [])", state_store.journal, [], [])
        if result != []:
            broken("journal-of-nothing", "journal([], []) returns []", f"it returned {result!r}")
        if call("serial()", state_store.serial) != serial or _pending(state_store):
            broken(
                "journal-of-nothing",
                "journal([], []) changes nothing",
                "the serial or the pending intents changed",
            )

    @pytest.mark.parametrize("bad", ["unknown", "closed"])
    def test_journal_is_all_or_nothing(self, state_store: StateStore, bad: str) -> None:
        if not isinstance(state_store, TransactionalStateStore):
            pytest.skip(
                f"{type(state_store).__name__} is not a TransactionalStateStore: "
                "its journal is not one transaction"
            )
        kept, closed = _ids_for(
            state_store, [_intent("resource:journal-kept"), _intent("resource:journal-closed")]
        )
        call("journal(close an intent)", state_store.journal, [IntentOutcome(closed)], [])
        before = (_pending(state_store), _uids(state_store), call("serial()", state_store.serial))
        wrong = closed if bad == "closed" else max(kept, closed) + 1000
        batch = [
            IntentOutcome(kept, record=_record("resource:journal-kept")),
            IntentOutcome(wrong, record=_record("resource:journal-wrong")),
        ]
        what = "already closed" if bad == "closed" else "never journaled"
        requires = (
            "journal is one transaction: an outcome for an intent that is not pending "
            "is refused with a StateError and nothing of the batch is written"
        )
        try:
            state_store.journal(batch, [_intent(f"resource:journal-{uuid.uuid4().hex[:6]}")])
        except PodiumError:
            pass
        except Exception as exc:
            happened = f"an outcome for intent {wrong} ({what}) raised {type(exc).__name__}"
            broken("journal-is-atomic", requires, happened + ", not a StateError")
        else:
            broken(
                "journal-is-atomic",
                requires,
                f"an outcome for intent {wrong} ({what}) was accepted",
            )
        after = (_pending(state_store), _uids(state_store), call("serial()", state_store.serial))
        for name, old, new in zip(
            ("pending intents", "records", "serial"), before, after, strict=True
        ):
            if old != new:
                broken(
                    "journal-is-atomic",
                    requires,
                    f"the refused batch still changed the {name}: {old} became {new}",
                )
