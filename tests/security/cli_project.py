"""What the security tests that drive the real ``podium`` CLI share.

A platform directory gets its plugins installed for real: a module (or package)
on a site directory with a ``.dist-info`` whose entry point is in
``podium.plugins``, found through PYTHONPATH by ``importlib.metadata`` as after
a pip install. Each command runs ``python -m podium`` in a subprocess whose
environment is cleaned of the variables that would steer it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ENGINE_TESTS = Path(__file__).resolve().parent.parent / "engine"
FAKE_PLATFORM = ENGINE_TESTS / "fake_platform.py"
"""The engine tests' fake plugin: directories as resources, a JSON-file deployer."""


def install_plugin(
    site: Path,
    plugin: str,
    source: str,
    *,
    module: str,
    distribution: str | None = None,
    version: str = "0.1.0",
    package: bool = False,
    record: bool = False,
) -> Path:
    """Install ``source`` on ``site`` as the distribution of plugin ``plugin``; return its file.

    The code becomes ``<module>.py``, or ``<module>/__init__.py`` for a ``package``; the
    distribution (``podium-<plugin>`` unless named) gets METADATA, the entry point
    ``<plugin> = <module>`` and, with ``record``, a RECORD of its files as pip writes it.
    """
    name = distribution or f"podium-{plugin}"
    code = site / module / "__init__.py" if package else site / f"{module}.py"
    if package:
        code.parent.mkdir()
    code.write_text(source)
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    (dist_info / "entry_points.txt").write_text(f"[podium.plugins]\n{plugin} = {module}\n")
    if record:
        written = [code, dist_info / "METADATA", dist_info / "entry_points.txt"]
        lines = [_record_line(site, p) for p in written] + [f"{dist_info.name}/RECORD,,"]
        (dist_info / "RECORD").write_text("\n".join(lines) + "\n")
    return code


def _record_line(site: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(site).as_posix()},sha256={digest},{len(data)}"


def load_module(path: Path, name: str) -> Any:
    """A plugin module for in-process platforms, loaded from its file under its own name."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CliProject:
    """A platform directory at ``root`` whose plugins are on ``site``, run through the CLI.

    The child's environment is this process's without the variables starting with
    ``strip``, with ``site`` first on PYTHONPATH.
    """

    strip: tuple[str, ...] = ("FAKE_", "PODIUM_")
    timeout: float = 120

    def __init__(self, root: Path, site: Path) -> None:
        self.root = root
        self.site = site
        self.site.mkdir(parents=True)

    def write(self, relative: str, text: str) -> Path:
        """Write ``text`` to the file ``relative`` to the root; return its path."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(self.strip)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.site), env.get("PYTHONPATH")]))
        env.update(extra)
        return env

    def podium(
        self, *args: str, timeout: float | None = None, umask: int | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run ``podium *args`` in ``root``; ``env`` adds variables, ``umask`` is the child's."""
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=self.timeout if timeout is None else timeout,
            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
        )

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run the command; assert it succeeded."""
        result = self.podium(*args, **kwargs)
        assert result.returncode == 0, f"podium {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        """Run ``podium --json *args``; assert it succeeded and return what it printed."""
        return json.loads(self.ok("--json", *args, **kwargs).stdout)
