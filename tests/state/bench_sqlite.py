"""Benchmark of the SQLite state store (run by hand: ``python tests/state/bench_sqlite.py``).

Not a test: timing is never asserted. It prints the per-node cost of the intent
journal (begin_intent + complete_intent with a record) under both synchronous
modes, the same from 8 threads at once, and records() for 10,000 rows.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from podium.platform.contract import Intent, ResourceRecord
from podium.state import SqliteStateStore


def _record(i: int) -> ResourceRecord:
    return ResourceRecord(
        uid=f"resource:postgres.default#w{i}.db",
        kind="resource",
        provider="postgres",
        plugin="podium-local",
        spec={"type": "postgres", "params": {"version": "16", "size": "small", "n": i}},
        spec_hash=f"{i:064x}",
        outputs={"host": "127.0.0.1", "port": 5432, "password": {"$secret": "gAAAA" + "x" * 100}},
        physical_name=f"podium-dev-w{i}-db-0123abcd",
        depends_on=[f"resource:x#{i - 1}"] if i else [],
    )


def _journal(store: SqliteStateStore, nodes: range) -> None:
    for i in nodes:
        rec = _record(i)
        iid = store.begin_intent(Intent(rec.uid, "create", {"params": rec.spec}, "run-1"))
        store.complete_intent(iid, record=rec)


def bench_journal(directory: Path, synchronous: str, n: int = 2000) -> float:
    store = SqliteStateStore(directory / f"journal-{synchronous}.db", synchronous=synchronous)
    start = time.perf_counter()
    _journal(store, range(n))
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed / n * 1e6


def bench_threads(directory: Path, threads: int = 8, n: int = 2000) -> float:
    store = SqliteStateStore(directory / "threads.db")
    per = n // threads
    workers = [
        threading.Thread(target=_journal, args=(store, range(t * per, (t + 1) * per)))
        for t in range(threads)
    ]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed / n * 1e6


def bench_connection_per_thread(directory: Path, threads: int = 8, n: int = 2000) -> float:
    """The alternative design: each thread its own connection (here: its own store)."""
    stores = [SqliteStateStore(directory / "per-thread.db") for _ in range(threads)]
    per = n // threads
    workers = [
        threading.Thread(target=_journal, args=(stores[t], range(t * per, (t + 1) * per)))
        for t in range(threads)
    ]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    for store in stores:
        store.close()
    return elapsed / n * 1e6


def bench_records(directory: Path, n: int = 10_000) -> tuple[float, float]:
    store = SqliteStateStore(directory / "records.db")
    start = time.perf_counter()
    for i in range(n):
        store.put_record(_record(i))
    put = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    rows = store.records()
    read = (time.perf_counter() - start) * 1e3
    assert len(rows) == n
    store.close()
    return put, read


def main() -> None:
    with tempfile.TemporaryDirectory(dir=sys.argv[1] if len(sys.argv) > 1 else None) as tmp:
        directory = Path(tmp)
        for mode in ("normal", "full"):
            us = bench_journal(directory, mode)
            print(f"begin_intent+complete_intent, synchronous={mode}: {us:.0f} us/node")
        print(f"same, 8 threads sharing one store (normal): {bench_threads(directory):.0f} us/node")
        us = bench_connection_per_thread(directory)
        print(f"same, 8 threads with a connection each (normal): {us:.0f} us/node")
        put, read = bench_records(directory)
        print(f"put_record: {put:.0f} us/record; records() of 10,000 rows: {read:.0f} ms")


if __name__ == "__main__":
    main()
