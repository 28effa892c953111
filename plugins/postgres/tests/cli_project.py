"""A platform directory whose state is in PostgreSQL, with the pg_world plugin installed.

Every ``podium`` runs as a real subprocess, as a user would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1
    variables:
      NOTE: ${resources.memo.name}
resources:
  memo:
    type: note
"""


def config(dsn: str, schema: str, *, state_options: str = "", lock_ttl: float = 60) -> str:
    """``podium.toml``: the DSN both as the plugin setting and as a state option."""
    return f"""\
[platform]
name = "shop"
workloads = ["*.score.yaml"]

[plugins]
allow = ["postgres", "pgworld"]

[plugins.postgres]
dsn = "{dsn}"

[environments.dev]
deployer = "world-deployer"

[[rules]]
type = "note"
provisioner = "world-note"

[engine]
retries = 0

[state]
backend = "postgres"
lock_ttl = {lock_ttl}
options = {{ schema = "{schema}", dsn = "{dsn}"{state_options} }}
"""


class Project:
    """``podium.toml``, one Score file, the world directory and a site directory with the plugin."""

    def __init__(self, root: Path, podium_toml: str) -> None:
        self.root = root
        self.site = root / "site"
        self.world = root / "world"
        self.site.mkdir(parents=True)
        self.world.mkdir()
        shutil.copy(HERE / "pg_world.py", self.site / "pg_world.py")
        dist = self.site / "podium_pg_world-1.0.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: podium-pg-world\nVersion: 1.0.0\n"
        )
        (dist / "entry_points.txt").write_text("[podium.plugins]\npgworld = pg_world\n")
        (root / "podium.toml").write_text(podium_toml)
        (root / "web.score.yaml").write_text(SCORE)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "OTEL_", "PG"))}
        env.update(
            PYTHONPATH=os.pathsep.join([str(self.site), env.get("PYTHONPATH", "")]),
            PODIUM_PG_WORLD=str(self.world),
            NO_COLOR="1",
            COLUMNS="200",
        )
        env.update(extra)
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 300, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=self.env(**extra),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
