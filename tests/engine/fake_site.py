"""The engine tests' fake plugin installed for real, and the workload they plan with.

Standard library only and no pytest: the benchmarks load this module by path
(benchmarks/_common.py's ``tests_helper``) to set up the same platform directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: The plugin module (``fake-dir`` volumes, ``fake-deployer``...).
FAKE_PLATFORM = Path(__file__).with_name("fake_platform.py")


def install_fake_plugin(site: Path) -> Path:
    """Install :data:`FAKE_PLATFORM` into the directory ``site`` as the distribution
    ``podium-fake`` (entry point ``fake``): a podium process with ``site`` on its
    ``PYTHONPATH`` finds it as any installed plugin. Returns ``site``."""
    site.mkdir(parents=True)
    shutil.copy(FAKE_PLATFORM, site / "fake_platform.py")
    dist = site / "podium_fake-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: podium-fake\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[podium.plugins]\nfake = fake_platform\n")
    return site


def web_score(*, password: bool = True) -> str:
    """Workload ``web``: volume ``data``, volume ``cache`` whose params reference it, and a
    container reading ``data``'s source (and, with ``password``, its secret password)."""
    secret = "      DB_PASSWORD: ${resources.data.password}\n" if password else ""
    return f"""\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1.0
    variables:
      DATA: ${{resources.data.source}}
{secret}      GREETING: hello
resources:
  data:
    type: volume
  cache:
    type: volume
    params:
      parent: ${{resources.data.source}}
"""
