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

import orjson

from podium.errors import StateError
from podium.platform.contract import BOOKKEEPING_FIELDS, LEGACY_BOOKKEEPING_KEYS, ResourceRecord
from podium.security.secret import Secret

#: The record columns, in the order of :func:`record_row` and :func:`record_from_row`. A
#: table with these columns only keeps a record's bookkeeping inside its ``spec`` column,
#: as Podium 0.1 did (the record is whole again when read).
RECORD_COLUMNS = (
    "uid, kind, provider, plugin, physical_name, spec, spec_hash, outputs, depends_on, updated_at, "
    "owner"
)
#: :data:`RECORD_COLUMNS` and the ``bookkeeping`` column (JSON): the layout of the built-in
#: SQLite and PostgreSQL backends, where bookkeeping lives beside the spec.
RECORD_COLUMNS_WITH_BOOKKEEPING = RECORD_COLUMNS + ", bookkeeping"


def record_placeholders(marker: str, extra: int = 0) -> str:
    """The parameter markers of an INSERT of one record row (plus ``extra`` key columns)."""
    return ", ".join([marker] * (len(RECORD_COLUMNS.split(",")) + extra))


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _refuse(value: object) -> Any:
    if isinstance(value, Secret):
        raise StateError("refusing to write an unsealed Secret to state; seal it with StateCipher")
    raise StateError(f"cannot store a value of type {type(value).__name__} in state (not JSON)")


# Built once: json.dumps with options makes a new encoder on every call (several per node).
_COMPACT = json.JSONEncoder(separators=(",", ":"), default=_refuse)


def dumps(value: Any) -> str:
    """Compact JSON for a state column; an unsealed Secret is refused, never written."""
    return _COMPACT.encode(value)


#: orjson reads an integer beyond 64 bits as a float, where the json module keeps it. Text
#: with a run of 19 or more ASCII digits (rare: long numbers, or long digit runs in
#: strings) is read by the json module. The run is looked for in the text's UTF-8 with
#: every digit made "0" and every other byte ".": a translation and a substring search,
#: several times faster than a regular expression (which cost more than orjson's read).
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x2E for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def loads(text: str | bytes) -> Any:
    """A state column's JSON, as :func:`json.loads` reads it, read by orjson where that
    gives the same values (about 3.5x faster on a record's columns).

    orjson refuses what the json module accepts and it does not (NaN, lone surrogates,
    numbers beyond a float): those take the json module, as do long digit runs."""
    if type(text) is str:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate, which orjson refuses
            return json.loads(text)
        if _LONG_DIGIT_RUN not in data.translate(_DIGITS_AS_ZEROS):
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                pass
    return json.loads(text)


def record_row(record: ResourceRecord, *, bookkeeping_column: bool = False) -> tuple[Any, ...]:
    """The record's values in :data:`RECORD_COLUMNS` order, JSON columns encoded.

    With ``bookkeeping_column``, in :data:`RECORD_COLUMNS_WITH_BOOKKEEPING` order; without,
    the bookkeeping is written inside the spec column under its 0.1 keys.
    """
    spec = record.spec if bookkeeping_column else {**record.spec, **legacy_bookkeeping(record)}
    row = (
        record.uid,
        record.kind,
        record.provider,
        record.plugin,
        record.physical_name,
        dumps(spec),
        record.spec_hash,
        dumps(record.outputs),
        dumps(list(record.depends_on)),
        record.updated_at or now_iso(),
        record.owner,
    )
    return (*row, dumps(record.bookkeeping())) if bookkeeping_column else row


def legacy_bookkeeping(record: ResourceRecord) -> dict[str, Any]:
    """The record's bookkeeping under the spec keys Podium 0.1 used for it."""
    fields = record.bookkeeping()
    return {key: fields[name] for key, name in LEGACY_BOOKKEEPING_KEYS.items() if name in fields}


def record_from_row(row: Sequence[Any]) -> ResourceRecord:
    """The inverse of :func:`record_row`, with or without the bookkeeping column (without,
    the record lifts it out of the spec)."""
    uid, kind, provider, plugin, physical_name, spec, spec_hash, outputs, depends_on, at, owner = (
        row[:11]
    )
    stored = loads(row[11]) if len(row) > 11 and row[11] else {}
    bookkeeping = {k: v for k, v in stored.items() if k in BOOKKEEPING_FIELDS}
    return ResourceRecord(
        uid=uid,
        kind=kind,
        provider=provider,
        plugin=plugin,
        physical_name=physical_name,
        spec=loads(spec),
        spec_hash=spec_hash,
        outputs=loads(outputs),
        depends_on=loads(depends_on),
        updated_at=at,
        owner=owner,
        **bookkeeping,
    )


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}
