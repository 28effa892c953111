"""Helpers for state backends that keep records as table rows.

Shared by the built-in SQLite backend and plugin backends (podium-postgres):
the record columns, JSON encoding that refuses an unsealed secret (the last
line of defence: the core seals secrets before they reach a backend), and the
conversions between :class:`~podium.platform.ResourceRecord` and a row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from podium.errors import StateError
from podium.platform.contract import ResourceRecord
from podium.security.secret import Secret

#: The record columns, in the order of :func:`record_row` and :func:`record_from_row`.
RECORD_COLUMNS = (
    "uid, kind, provider, plugin, physical_name, spec, spec_hash, outputs, depends_on, updated_at, "
    "owner"
)


def record_placeholders(marker: str, extra: int = 0) -> str:
    """The parameter markers of an INSERT of one record row (plus ``extra`` key columns)."""
    return ", ".join([marker] * (len(RECORD_COLUMNS.split(",")) + extra))


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _refuse(value: object) -> Any:
    if isinstance(value, Secret):
        raise StateError("refusing to write an unsealed Secret to state; seal it with StateCipher")
    raise StateError(f"cannot store a value of type {type(value).__name__} in state (not JSON)")


def dumps(value: Any) -> str:
    """Compact JSON for a state column; an unsealed Secret is refused, never written."""
    return json.dumps(value, separators=(",", ":"), default=_refuse)


def record_row(record: ResourceRecord) -> tuple[Any, ...]:
    """The record's values in :data:`RECORD_COLUMNS` order, JSON columns encoded."""
    return (
        record.uid,
        record.kind,
        record.provider,
        record.plugin,
        record.physical_name,
        dumps(record.spec),
        record.spec_hash,
        dumps(record.outputs),
        dumps(list(record.depends_on)),
        record.updated_at or now_iso(),
        record.owner,
    )


def record_from_row(row: Sequence[Any]) -> ResourceRecord:
    """The inverse of :func:`record_row`."""
    uid, kind, provider, plugin, physical_name, spec, spec_hash, outputs, depends_on, at, owner = (
        row
    )
    return ResourceRecord(
        uid=uid,
        kind=kind,
        provider=provider,
        plugin=plugin,
        physical_name=physical_name,
        spec=json.loads(spec),
        spec_hash=spec_hash,
        outputs=json.loads(outputs),
        depends_on=json.loads(depends_on),
        updated_at=at,
        owner=owner,
    )


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}
