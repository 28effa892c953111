"""Re-sealing every secret of a SQL state in one transaction (``podium state rekey``).

Which columns hold sealed values: JSON with nested ``{"$secret": token}`` in
records, intents and releases; a bare token per generated value. History is left
alone: it is the append-only, hash-chained audit trail (rows cannot change), and
Podium never writes a sealed value into it (entries name nodes, never values).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from podium.security.crypto import reseal_value
from podium.state.rows import dumps
from podium.state.sql.dialect import Connection, SqlDialect

#: logical table -> (columns naming a row, columns holding sealed JSON)
_JSON_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "records": (("uid",), ("spec", "outputs")),
    "intents": (("id",), ("spec",)),
    "releases": (("workload", "number"), ("data",)),
}


def reseal_rows(
    dialect: SqlDialect,
    db: Connection,
    reseal: Callable[[str], str],
) -> tuple[int, bool]:
    """Re-seal every token of this store's rows in ``db``'s open transaction.

    Returns how many tokens changed and whether a record did (the caller moves the serial).
    """
    changed = 0
    records_changed = False
    for table, (keys, columns) in _JSON_COLUMNS.items():
        if table == "records" and dialect.bookkeeping_column:
            columns = (*columns, "bookkeeping")
        count = _reseal_table(dialect, db, table, keys, columns, reseal, json_values=True)
        changed += count
        records_changed = records_changed or (table == "records" and count > 0)
    changed += _reseal_table(
        dialect, db, "generated", ("node", "key"), ("token",), reseal, json_values=False
    )
    return changed, records_changed


def _reseal_table(
    dialect: SqlDialect,
    db: Connection,
    table: str,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    reseal: Callable[[str], str],
    *,
    json_values: bool,
) -> int:
    p = dialect.param
    scope = dialect.scope(table)
    name = dialect.table(table)
    where = [f"{c} = {p}" for c in scope.columns]
    select = f"SELECT {', '.join((*keys, *columns))} FROM {name}"
    if where:
        select += f" WHERE {' AND '.join(where)}"
    rows = db.execute(select, scope.values).fetchall()
    update = (
        f"UPDATE {name} SET {', '.join(f'{c} = {p}' for c in columns)} "
        f"WHERE {' AND '.join([*where, *(f'{k} = {p}' for k in keys)])}"
    )
    changed = 0
    for row in rows:
        ident, stored = tuple(row[: len(keys)]), tuple(row[len(keys) :])
        new: list[Any] = []
        count = 0
        for value in stored:
            if value is None:
                new.append(None)
            elif json_values:
                resealed, n = reseal_value(json.loads(value), reseal)
                new.append(dumps(resealed) if n else value)
                count += n
            else:
                token = reseal(str(value))
                new.append(token)
                count += token != value
        if count:
            db.execute(update, (*new, *scope.values, *ident))
            changed += count
    return changed
