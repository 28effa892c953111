"""Run in a subprocess by the lock race test: wait for a start signal, then try to take the lock."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from podium.plugin import EnvironmentInfo, LockedError, LockInfo
from podium_postgres.store import PostgresStateBackend


def main(dsn: str, schema: str, state_dir: str, go_file: str, run_id: str) -> None:
    env = EnvironmentInfo(platform="shop", environment="prod", state_dir=Path(state_dir))
    store = PostgresStateBackend().open(env, {"dsn": dsn, "schema": schema})
    store.records()  # connect first so both contenders start the race equally
    print("ready", flush=True)
    while not Path(go_file).exists():
        time.sleep(0.005)
    now = time.time()
    info = LockInfo(
        owner=f"{run_id}@" + socket.gethostname(),
        host=socket.gethostname(),
        pid=os.getpid(),
        run_id=run_id,
        acquired_at=now,
        expires_at=now + 600,
    )
    try:
        store.acquire_lock(info)
        print("acquired", flush=True)
    except LockedError as exc:
        print("locked:", exc, flush=True)
    # Stay alive until the test has judged the race: a holder that exits on this
    # host is a dead holder, and the lease rules let others take its lock.
    done = Path(go_file + ".done")
    while not done.exists():
        time.sleep(0.01)
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:6])
