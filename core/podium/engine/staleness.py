"""Is a plan stale? Only if what it touches changed, not whenever the environment did.

The state serial moves with every run in an environment, so a plan checked against
it goes stale whenever any team applies anything. A plan scoped to some workloads
records instead a fingerprint of each state record it relies on: the nodes it
changes or keeps, the nodes they depend on, and the recorded nodes depending on
those (another workload sharing a resource decides whether it may be deleted).
A node not in state is recorded as ``absent``. At apply, the same nodes are
fingerprinted again: any difference, including a node that appeared, is stale.

A plan for the whole environment (``scope`` ``None``, or ``prune``, which may
delete anything its owners hold) relies on every record, so it keeps the serial
check, as do plan files saved before fingerprints existed (format 2).

A plan takes its fingerprints when they are first asked for (saved, served, verified or
applied), from the records it read: a plan that is only looked at, as most are, does
not digest every record it relies on (a tenth of a second per 10,000).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from podium.engine.graph import digest
from podium.errors import StalePlanError

if TYPE_CHECKING:
    from podium.engine.plan import Change, Plan
    from podium.platform.contract import ResourceRecord

ABSENT = "absent"
#: how many changed nodes a refusal names before "and N more"
_SHOWN = 6
REPLAN = "run 'podium plan' again and review the new plan"


def record_fingerprint(record: ResourceRecord) -> str:
    """A digest of everything state holds for one node (sealed values as sealed)."""
    return digest(record.to_dict())


def relied_on(changes: Iterable[Change]) -> set[str]:
    """The nodes a plan's changes name: their own uids and their dependencies."""
    uids: set[str] = set()
    for change in changes:
        uids.add(change.uid)
        uids.update(change.depends_on)
    return uids


def node_fingerprints(
    records: Iterable[ResourceRecord], changes: Sequence[Change]
) -> dict[str, str]:
    """The fingerprint of every node ``changes`` rely on, and of the records depending on them."""
    by_uid = {record.uid: record for record in records}
    base = relied_on(changes)
    watched = base | {uid for uid, r in by_uid.items() if base.intersection(r.depends_on)}
    return {
        uid: record_fingerprint(by_uid[uid]) if uid in by_uid else ABSENT for uid in sorted(watched)
    }


class PlanFingerprints(Mapping[str, str]):
    """:func:`node_fingerprints` of the records a plan read, taken on first use.

    Holds the plan's own record objects and changes until then: nothing else writes
    to them (a record read again from state is a new object), so the fingerprints are
    those of state as the plan read it, whenever they are taken.
    """

    def __init__(self, records: Iterable[ResourceRecord], changes: Sequence[Change]) -> None:
        self._source: tuple[list[ResourceRecord], list[Change]] | None = (
            list(records),
            list(changes),
        )
        self._taken: dict[str, str] = {}

    def _fingerprints(self) -> dict[str, str]:
        source = self._source  # one read: another thread may take them at the same time
        if source is not None:
            self._taken = node_fingerprints(*source)  # the same either way
            self._source = None  # after _taken is set; the records are let go
        return self._taken

    def __getitem__(self, uid: str) -> str:
        return self._fingerprints()[uid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fingerprints())

    def __len__(self) -> int:
        return len(self._fingerprints())

    def __repr__(self) -> str:
        return "PlanFingerprints(not taken yet)" if self._source else repr(self._taken)


def moved_nodes(saved: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The nodes whose fingerprint differs (a node missing on one side counts as ``absent``)."""
    return sorted(
        uid
        for uid in set(saved) | set(current)
        if saved.get(uid, ABSENT) != current.get(uid, ABSENT)
    )


def uses_fingerprints(scope: Collection[str] | None, prune: bool) -> bool:
    """Whether a plan with this scope can be checked node by node (see the module docs)."""
    return scope is not None and not prune


def check_not_stale(plan: Plan, serial: int, records: Iterable[ResourceRecord]) -> None:
    """Raise :class:`~podium.errors.StalePlanError` (exit 8) when ``plan`` is stale.

    ``serial`` and ``records`` are the environment's now. Messages name nodes, never values.
    """
    if plan.fingerprints is None:
        if serial != plan.serial:
            raise StalePlanError(
                f"state of {plan.environment!r} changed since this plan was made "
                f"(serial {plan.serial} -> {serial})",
                hint=REPLAN,
            )
        return
    moved = moved_nodes(plan.fingerprints, node_fingerprints(records, plan.changes))
    if moved:
        raise StalePlanError(stale_message(plan.environment, moved), hint=REPLAN)


def stale_message(environment: str, moved: Sequence[str]) -> str:
    more = f" and {len(moved) - _SHOWN} more" if len(moved) > _SHOWN else ""
    return (
        f"state of {environment!r} changed since this plan was made, in nodes the plan "
        f"touches: {', '.join(moved[:_SHOWN])}{more}"
    )
