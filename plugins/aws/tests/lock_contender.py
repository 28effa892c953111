"""Run in a subprocess by the state tests: wait for a start signal, then try to take the lock."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from podium.plugin import EnvironmentInfo, LockedError, LockInfo
from podium_aws.clients import AwsClients
from podium_aws.settings import Settings
from podium_aws.state import S3StateBackend


def main(endpoint: str, bucket: str, state_dir: str, go_file: str, run_id: str) -> None:
    settings = Settings(region="us-east-1", endpoint_url=endpoint)
    env = EnvironmentInfo(platform="shop", environment="prod", state_dir=Path(state_dir))
    store = S3StateBackend(settings, AwsClients(settings)).open(env, {"bucket": bucket})
    store.records()  # warm up the client so both contenders start the race equally
    while not Path(go_file).exists():
        time.sleep(0.005)
    now = time.time()
    info = LockInfo(
        owner="test@" + socket.gethostname(),
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
    # host is a dead holder, and the core's lease rules let others take its lock.
    done = Path(go_file + ".done")
    while not done.exists():
        time.sleep(0.01)


if __name__ == "__main__":
    main(*sys.argv[1:6])
