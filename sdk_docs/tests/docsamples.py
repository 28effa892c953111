"""Find the runnable samples in the docs and run them, the way a reader would.

A fenced block preceded by an HTML comment (invisible on the site) is a sample:

* ``<!-- doc-test: file PATH -->``: the block's text is written to ``PATH``;
* ``<!-- doc-test: python -->``: the block runs as a Python script;
* ``<!-- doc-test: shell -->``: the block runs with ``bash -euo pipefail``.

A page's samples run in order in one empty directory, inside a fresh virtual
environment layered over the one running the tests (see :class:`LayeredVenv`), so a
sample may ``pip install`` something without touching the test environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"

_MARKER = re.compile(r"^<!--\s*doc-test:\s*(\w+)\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class Sample:
    page: Path
    line: int  #: line of the opening fence, 1-based
    kind: str  #: file, python or shell
    arg: str  #: the file path for ``file``
    language: str
    code: str

    @property
    def where(self) -> str:
        page = self.page.relative_to(DOCS) if self.page.is_relative_to(DOCS) else self.page.name
        return f"{page}:{self.line}"


def samples(page: Path) -> list[Sample]:
    """The marked samples of one Markdown page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Sample] = []
    i = 0
    while i < len(lines):
        marker = _MARKER.match(lines[i].strip())
        i += 1
        if not marker:
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        fence = _FENCE.match(lines[i]) if i < len(lines) else None
        if fence is None:
            raise ValueError(f"{page}:{i + 1}: a doc-test marker must precede a fenced block")
        indent, ticks, info = fence.groups()
        start = i + 1
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        kind, arg = marker.group(1), marker.group(2)
        if kind not in ("file", "python", "shell"):
            raise ValueError(f"{page}:{start}: unknown doc-test kind {kind!r}")
        found.append(Sample(page, start, kind, arg, info.strip(), "\n".join(body) + "\n"))
    return found


def pages_with_samples() -> list[Path]:
    return [page for page in sorted(DOCS.rglob("*.md")) if samples(page)]


class LayeredVenv:
    """A fresh venv that also sees the running environment's packages.

    ``python -m venv --system-site-packages`` would expose the *base* interpreter's
    packages, not those of a tox or project venv we may be running in; a ``.pth``
    file that calls ``site.addsitedir`` on the current environment's site-packages
    exposes exactly what is installed here (editable installs included). Packages
    installed into the new venv land in its own site-packages and shadow nothing
    outside it, so the test environment stays untouched.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(path)],
            check=True,
            capture_output=True,
        )
        purelib = Path(
            sysconfig.get_path("purelib", vars={"base": str(path), "platbase": str(path)})
        )
        parents = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
        lines = [f"import site; site.addsitedir({p!r})" for p in sorted(parents)]
        (purelib / "_layered_parent.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.purelib = purelib
        self._write_podium_shim()

    @property
    def bin(self) -> Path:
        return self.path / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def _write_podium_shim(self) -> None:
        # The parent environment's `podium`, `pytest` and `pip` scripts run the
        # parent's interpreter: they would not see packages installed here, and `pip`
        # would install into the parent. These run ours. pip builds without isolation when
        # hatchling is at hand, so no build backend is downloaded for every install.
        shims = {
            "podium": "from podium.cli.main import main\nsys.exit(main())\n",
            "pytest": "import pytest\nsys.exit(pytest.console_main())\n",
            "pip": (
                "import importlib.util\n"
                "args = sys.argv[1:]\n"
                "if args[:1] == ['install'] and importlib.util.find_spec('hatchling'):\n"
                "    args.insert(1, '--no-build-isolation')\n"
                "from pip._internal.cli.main import main\n"
                "sys.exit(main(args))\n"
            ),
        }
        for name, body in shims.items():
            shim = self.bin / name
            shim.write_text(f"#!{self.python}\nimport sys\n{body}", encoding="utf-8")
            shim.chmod(0o755)

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.pop("PYTHONPATH", None)
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def run(
        self, args: list[str], cwd: Path, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            cwd=cwd,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def pip_install(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """``pip install`` into this venv (through the ``pip`` shim)."""
        return self.run([str(self.bin / "pip"), "install", *args], cwd=cwd)


class SampleFailed(AssertionError):
    pass


def run_page(page: Path, workdir: Path, venv: LayeredVenv | None = None) -> list[str]:
    """Run every sample of ``page`` in ``workdir``; return each sample's output."""
    venv = venv or LayeredVenv(workdir.parent / f"venv-{page.stem}")
    outputs: list[str] = []
    for sample in samples(page):
        if sample.kind == "file":
            target = workdir / sample.arg
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(sample.code, encoding="utf-8")
            continue
        if sample.kind == "python":
            args = [str(venv.python), "-c", sample.code]
        else:
            args = ["bash", "-euo", "pipefail", "-c", sample.code]
        proc = venv.run(args, cwd=workdir)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise SampleFailed(
                f"{sample.where}: {sample.kind} sample exited {proc.returncode}\n"
                f"--- sample ---\n{sample.code}--- output ---\n{output}"
            )
        outputs.append(output)
    return outputs
