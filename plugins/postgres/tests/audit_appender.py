"""Run in subprocesses by the audit chain race test: wait for a start signal, then append
entries (each a start and an outcome, as a run does) with several threads at once."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from podium.plugin import EnvironmentInfo
from podium_postgres.store import PostgresStateBackend


def main(dsn: str, schema: str, state_dir: str, go_file: str, name: str, count: str) -> None:
    env = EnvironmentInfo(platform="shop", environment="prod", state_dir=Path(state_dir))
    store = PostgresStateBackend().open(env, {"dsn": dsn, "schema": schema})
    store.history(1)  # connect first so every writer starts the race equally
    print("ready", flush=True)
    while not Path(go_file).exists():
        time.sleep(0.005)

    def append(thread: int) -> None:
        who = f"{name}-t{thread}"
        for _ in range(int(count)):
            entry = {"operation": "apply", "who": who, "status": "running"}
            entry_id = store.add_history(entry)
            store.update_history(entry_id, {**entry, "status": "succeeded"})

    threads = [threading.Thread(target=append, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
