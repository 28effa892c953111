"""A platform project using podium-openbao (podium-local deploys), driven by the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import Bao

CONFIG = """\
[platform]
name = "{name}"

[plugins]
allow = ["local", "openbao"]

[plugins.openbao]
address = "{address}"
{openbao}

[plugins.local]
{local}

[secrets]
store = "openbao"

[environments.dev]
deployer = "local"

[[rules]]
type = "secret"
provisioner = "openbao-secret"

# A platform rule may point a class of secret at any KV path; workloads cannot.
[[rules]]
type = "secret"
class = "payments"
provisioner = "openbao-secret"
params = {{ path = "shared/{name}/payments", field = "api_key" }}

[[rules]]
type = "postgres"
provisioner = "{postgres}"
{postgres_params}

[telemetry]
jsonl = true
"""


class Project:
    """``podium.toml`` plus Score files in ``root``; every command runs the real CLI."""

    def __init__(
        self,
        root: Path,
        bao: Bao,
        *,
        name: str = "baotest",
        openbao: str = "",
        postgres: str = "local-postgres",
        postgres_params: str = "",
    ) -> None:
        self.root = root
        self.bao = bao
        root.mkdir(parents=True, exist_ok=True)
        # As root, podium-local runs apps as an unprivileged user, who cannot enter
        # pytest's private tmp_path: these tests are about secrets, not that.
        local = 'workload_user = "root"' if os.geteuid() == 0 else ""
        (root / "podium.toml").write_text(
            CONFIG.format(
                name=name,
                address=bao.address,
                openbao=openbao,
                local=local,
                postgres=postgres,
                postgres_params=postgres_params,
            )
        )
        self.printed: dict[str, bytes] = {}

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def write_app(self, program: str, variables: str, resources: str) -> Path:
        """``app.score.yaml``: one container running ``python -c program`` (this interpreter),
        with ``variables`` and ``resources`` as the YAML lines under those keys."""
        return self.write(
            "app.score.yaml",
            APP.format(
                python=sys.executable, program=program, variables=variables, resources=resources
            ),
        )

    def write_secret_digests_app(self, key: str, seen: Path) -> Path:
        """The app of the secret tests: ``STORED`` from the store key ``key`` (``podium
        secrets set``), ``PAYMENTS`` from the payments class (the rule's KV path). It writes
        their :func:`digest` to ``seen`` (space-separated), then stays up."""
        return self.write_app(
            SECRET_DIGESTS_PROGRAM.format(seen=seen),
            variables=(
                "      STORED: ${resources.stored.value}\n      PAYMENTS: ${resources.pay.value}"
            ),
            resources=(
                "  stored:\n    type: secret\n    params:\n      key: " + key + "\n"
                "  pay:\n    type: secret\n    class: payments"
            ),
        )

    def podium(
        self, *args: str, stdin: str | None = None, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env={**self.bao.env(), **env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        self.printed[f"{' '.join(args)} (stdout)"] = done.stdout.encode()
        self.printed[f"{' '.join(args)} (stderr)"] = done.stderr.encode()
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.podium("--json", *args).stdout)

    def files(self) -> dict[str, bytes]:
        """Every byte Podium wrote under the project (state, spans, plans...): all
        files but ``podium.toml``, which holds what the test wrote."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in self.root.rglob("*")
            if p.is_file() and p != self.root / "podium.toml"
        }


#: A Score file of one workload, ``app``, run by podium-local.
APP = """\
apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: busybox:1
    command: ["{python}", "-c", "{program}"]
    variables:
{variables}
resources:
{resources}
"""

#: Writes the digests of what it got, then stays up (a redeploy starts a new process).
SECRET_DIGESTS_PROGRAM = (
    "import hashlib, os, time; "
    "open('{seen}', 'w').write(' '.join(hashlib.sha256(os.environ[k].encode()).hexdigest() "
    "for k in ('STORED', 'PAYMENTS'))); time.sleep(600)"
)


def digest(value: str) -> str:
    """What the workload writes for ``value``: the SHA-256 of its UTF-8 bytes, in hex."""
    return hashlib.sha256(value.encode()).hexdigest()


def wait_for_text(
    path: Path, failure: str, until: Callable[[str], bool] = lambda text: True
) -> str:
    """The text the workload wrote to ``path`` once there is some and it passes ``until``;
    the test fails with ``failure`` after 60 seconds."""
    deadline = time.monotonic() + 60
    while not path.exists() or not path.read_text() or not until(path.read_text()):
        assert time.monotonic() < deadline, failure
        time.sleep(0.2)
    return path.read_text()


def assert_absent(needles: list[str], texts: dict[str, bytes]) -> None:
    for needle in needles:
        hits = [name for name, data in texts.items() if needle.encode() in data]
        assert not hits, f"secret {needle[:6]}... found in {hits}"
