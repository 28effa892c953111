"""Fixtures for podium-kubernetes: a project driven through the real CLI, strict schema
checks of rendered files, and a private Podman set up as /work/shared/BACKENDS.md says.

Podman is required in CI (``CI`` set): missing there fails the test instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from podium.testing import require

HERE = Path(__file__).parent
EXTERNAL_SECRET_SCHEMA = json.loads(
    (HERE / "schemas" / "externalsecret-v1.schema.json").read_text()
)
#: The busybox-based image the podman tests run (imported, no registry here).
BUSYBOX_IMAGE = "localhost/podium-k8s-busybox:1"


def strictly_valid(documents: list[dict[str, Any]], version: str | None = None) -> None:
    """Every object passes its strict schema (ExternalSecret: the shipped CRD-derived one)."""
    version = version or kubernetes_validate.latest_version()
    for obj in documents:
        if obj["kind"] == "ExternalSecret":
            jsonschema.validate(obj, EXTERNAL_SECRET_SCHEMA)
        else:
            kubernetes_validate.validate(obj, version, strict=True)


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


class Project:
    """A platform directory and the real ``podium`` CLI run in it."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.env = env or {}

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def podium(
        self, *args: str, stdin: str | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update(self.env)
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = self.podium(*args, stdin=stdin)
        assert result.returncode == 0, f"podium {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "platform")


@pytest.fixture(scope="session")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Podman with runc, low ulimits and its own storage (so tests never touch the host's),
    and the busybox image imported. Yields the environment variables that select it."""
    require("podman")
    require("runc")
    require("busybox")
    base = tmp_path_factory.mktemp("podman")
    (base / "containers.conf").write_text(
        '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]\n'
        '[engine]\nruntime = "runc"\n'
    )
    (base / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{base}/run"\ngraphroot = "{base}/root"\n'
    )
    variables = {
        "CONTAINERS_CONF": str(base / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(base / "storage.conf"),
    }
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)  # the deployer runs podman in this process too
    busybox = shutil.which("busybox") or "/bin/busybox"
    root = base / "rootfs"
    (root / "bin").mkdir(parents=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    for tool in ("sh", "echo", "cat", "httpd", "sleep", "env", "mkdir", "test"):
        (root / "bin" / tool).symlink_to("busybox")
    tarball = base / "busybox.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True)
    subprocess.run(
        ["podman", "import", "--change", "ENV PATH=/bin", str(tarball), BUSYBOX_IMAGE],
        check=True,
        capture_output=True,
    )
    yield variables
    subprocess.run(["podman", "pod", "rm", "--all", "--force"], capture_output=True, check=False)
    # never `podman system reset`: it would also remove the host's shared networks
    shutil.rmtree(base, ignore_errors=True)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
