"""Run as a separate process by the lock tests: open a store, wait for 'go', try the lock.

Prints one JSON line with the outcome, then holds on (keeping its pid alive, so
its lease stays live) until its stdin closes.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from podium.errors import LockedError
from podium.platform.contract import LockInfo
from podium.state import SqliteStateStore


def main() -> None:
    db_path, go_file, run_id = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    store = SqliteStateStore(db_path)
    print(json.dumps({"ready": True}), flush=True)
    while not go_file.exists():
        time.sleep(0.001)
    now = time.time()
    info = LockInfo(
        owner=f"tester@{socket.gethostname()}",
        host=socket.gethostname(),
        pid=os.getpid(),
        run_id=run_id,
        acquired_at=now,
        expires_at=now + 600,
        operation="apply",
    )
    try:
        store.acquire_lock(info)
        print(json.dumps({"won": True, "pid": os.getpid()}), flush=True)
    except LockedError as exc:
        print(json.dumps({"won": False, "pid": os.getpid(), "error": str(exc)}), flush=True)
    sys.stdin.read()
    store.close()


if __name__ == "__main__":
    main()
