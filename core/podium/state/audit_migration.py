"""The audit-chain migration as every SQL state backend runs it, less the dialect.

Turning ``history`` (``id``, ``data``) into the hash-chained audit trail
(:mod:`podium.state.audit_chain`) takes the same columns and the same sealing of
the entries written before, whatever the database. A backend's migration keeps
only what its SQL says differently: the integer type, how it adds columns, where
it keeps the chain's head, how its triggers refuse changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from podium.state.audit_chain import GENESIS_HASH, AuditHead, seal_entries

#: The columns the chain adds to ``history``, as ``(name, type and default)``;
#: ``{integer}`` stands for the dialect's integer type.
_HISTORY_AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "{integer}"),
    ("entry_id", "{integer}"),
    ("origin", "TEXT NOT NULL DEFAULT 'append'"),
    ("who", "TEXT NOT NULL DEFAULT ''"),
    ("what", "TEXT NOT NULL DEFAULT ''"),
    ("recorded_at", "TEXT NOT NULL DEFAULT ''"),
    ("plan_digest", "TEXT NOT NULL DEFAULT ''"),
    ("result", "TEXT NOT NULL DEFAULT ''"),
    ("decision", "TEXT NOT NULL DEFAULT ''"),
    ("prev_hash", "TEXT NOT NULL DEFAULT ''"),
    ("hash", "TEXT NOT NULL DEFAULT ''"),
)

#: What the append-only triggers on ``history`` say when they refuse a change.
HISTORY_APPEND_ONLY = "history is append-only (the audit trail)"


def audit_column_definitions(integer: str = "INTEGER") -> tuple[str, ...]:
    """``name type`` of each column the audit chain adds to ``history``, for ``ADD COLUMN``.

    ``integer`` is the type of ``seq`` and ``entry_id`` (``BIGINT`` where ids are).
    Rows of existing entries get the defaults until :func:`seal_history` fills them.
    """
    return tuple(f"{name} {kind.format(integer=integer)}" for name, kind in _HISTORY_AUDIT_COLUMNS)


@dataclass(frozen=True)
class SealedHistory:
    """What sealing one chain's older entries writes.

    Run ``statement`` for each of ``rows`` (``executemany``), then store ``head``
    as the chain's head (``seq`` 0 and :data:`GENESIS_HASH` when there was nothing).
    """

    statement: str
    rows: list[tuple[int | str, ...]]
    head: AuditHead


def seal_history(
    entries: Iterable[tuple[int, str]],
    recorded_at: str,
    *,
    table: str = "history",
    param: str = "?",
) -> SealedHistory:
    """Seal one chain's ``(id, data)`` entries, oldest first (see :func:`seal_entries`).

    ``table`` is the history table's name as the statement must spell it, ``param``
    the driver's parameter marker (``"?"`` or ``"%s"``).
    """
    sealed = seal_entries(((int(i), str(data)) for i, data in entries), recorded_at)
    names = [name for name, _kind in _HISTORY_AUDIT_COLUMNS]
    statement = (
        f"UPDATE {table} SET "
        + ", ".join(f"{name} = {param}" for name in names)
        + f" WHERE id = {param}"
    )
    rows = [(*(getattr(record, name) for name in names), record.id) for record in sealed]
    head = AuditHead(sealed[-1].seq, sealed[-1].hash) if sealed else AuditHead(0, GENESIS_HASH)
    return SealedHistory(statement, rows, head)


__all__ = [
    "HISTORY_APPEND_ONLY",
    "SealedHistory",
    "audit_column_definitions",
    "seal_history",
]
