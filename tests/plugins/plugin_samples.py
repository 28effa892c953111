"""Real, tiny plugin distributions for the plugin manager tests.

Each sample under tests/fixtures/sample_plugins/ becomes a uniquely named package
in its own temporary site directory with a real ``.dist-info`` (METADATA,
entry_points.txt, RECORD), prepended to ``sys.path``: ``importlib.metadata``
finds it exactly as it finds a pip-installed distribution.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from podium.config.models import PluginsSection
from podium.plugins.discovery import clear_cache
from podium.plugins.manager import PluginManager

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "sample_plugins"


@dataclass
class SampleDist:
    site: Path
    distribution: str
    version: str
    package: str
    entry_point: str
    dist_info: Path

    @property
    def module_file(self) -> Path:
        return self.site / self.package / "__init__.py"

    def set_version(self, version: str) -> None:
        """Simulate an upgrade in place: the metadata says a new version."""
        metadata = self.dist_info / "METADATA"
        metadata.write_text(
            metadata.read_text().replace(f"Version: {self.version}", f"Version: {version}")
        )
        self.version = version
        clear_cache()


def _record_line(site: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(site).as_posix()},sha256={digest},{len(data)}"


def write_distribution(
    site: Path,
    distribution: str,
    version: str,
    entry_points: dict[str, str],
    files: dict[str, str],
) -> Path:
    """Write package files and a ``.dist-info`` for them under ``site``."""
    written: list[Path] = []
    for relative, text in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    normalized = distribution.replace("-", "_")
    dist_info = site / f"{normalized}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    lines = ["[podium.plugins]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    written += [dist_info / "METADATA", dist_info / "entry_points.txt"]
    record = [_record_line(site, p) for p in written]
    record.append(f"{dist_info.name}/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")
    return dist_info


class SampleFactory:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.packages: list[str] = []
        self.sites: list[Path] = []

    def __call__(
        self,
        sample: str,
        *,
        distribution: str | None = None,
        version: str = "1.0.0",
        name: str | None = None,
        site: Path | None = None,
    ) -> SampleDist:
        package = f"podium_sample_{sample}_{uuid.uuid4().hex[:8]}"
        if site is None:
            site = self.tmp_path / f"site-{len(self.sites)}"
            site.mkdir()
            self.sites.append(site)
            self.monkeypatch.syspath_prepend(str(site))
        entry_point = name or sample.replace("_", "-")
        dist_name = distribution or f"podium-sample-{sample.replace('_', '-')}"
        source = (SAMPLES / f"{sample}.py").read_text()
        dist_info = write_distribution(
            site, dist_name, version, {entry_point: package}, {f"{package}/__init__.py": source}
        )
        self.packages.append(package)
        clear_cache()
        return SampleDist(site, dist_name, version, package, entry_point, dist_info)

    def cleanup(self) -> None:
        for package in self.packages:
            for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
                del sys.modules[module]
        clear_cache()


@pytest.fixture
def sample_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SampleFactory]:
    factory = SampleFactory(tmp_path, monkeypatch)
    clear_cache()
    yield factory
    factory.cleanup()


def make_manager(
    *,
    allow: list[str] | None = None,
    deny: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    **kwargs: Any,
) -> PluginManager:
    section = PluginsSection.model_validate(
        {**({"allow": allow} if allow is not None else {}), "deny": deny or [], **(settings or {})}
    )
    return PluginManager(section, environ=environ or {}, **kwargs)


def by_name(manager: PluginManager) -> dict[str, Any]:
    return {p.name: p for p in manager.plugins}


def copy_sample(sample: str, target: Path) -> None:
    shutil.copy(SAMPLES / f"{sample}.py", target)
