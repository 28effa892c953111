"""Start-up cost of the ``podium`` command against a bare interpreter, in the same run.

Figures: median wall time of ``podium --version`` and ``podium plugins list``
(``python -m podium ...``) over N runs each, against ``python -c pass``.
Target: ``--version`` within 6x the bare interpreter. It also checks that
``import podium`` and ``podium --version`` import none of pydantic, structlog,
OpenTelemetry or rich (they load only when a command needs them), and that a
plugin's first line, ``from podium.plugin import hookimpl``, costs about what
``from podium import hookimpl`` does: within 1.25x (the author module adds nothing
heavy; both load pluggy, which ``import podium`` alone no longer does).

Run: python benchmarks/bench_startup.py [runs]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from _common import Report, median_wall, ratio

HEAVY = ("pydantic", "structlog", "opentelemetry", "rich")

PROBE = (
    "HEAVY = "
    + repr(HEAVY)
    + """
import sys
sys.argv = ["podium", "--version"]
import podium
from podium.cli.main import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
sys.stderr.write(",".join(heavy))
"""
)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    python = sys.executable
    report = Report("bench_startup")
    with tempfile.TemporaryDirectory() as empty:  # no podium.toml, no state left behind
        os.chdir(empty)
        median_wall([python, "-c", "pass"], runs=2, env=env)  # warm the OS caches
        bare = median_wall([python, "-c", "pass"], runs=runs, env=env)
        version = median_wall([python, "-m", "podium", "--version"], runs=runs, env=env)
        listing = median_wall(
            [python, "-m", "podium", "plugins", "list"], runs=max(3, runs // 3), env=env
        )
        probe = subprocess.run(
            [python, "-c", PROBE], capture_output=True, text=True, env=env, check=True
        )
        core = median_wall([python, "-c", "from podium import hookimpl"], runs=runs, env=env)
        author = median_wall(
            [python, "-c", "from podium.plugin import hookimpl"], runs=runs, env=env
        )
    heavy = [m for m in probe.stderr.strip().split(",") if m]
    report.add("python -c pass", bare * 1000, "ms")
    report.add("podium --version", version * 1000, "ms")
    report.add("ratio --version / python", ratio(version, bare), "x", at_most=6.0)
    report.add("podium plugins list", listing * 1000, "ms")
    report.add("ratio plugins list / python", ratio(listing, bare), "x")
    report.add("from podium.plugin import hookimpl", author * 1000, "ms")
    report.add("ratio podium.plugin / podium (hookimpl)", ratio(author, core), "x", at_most=1.25)
    report.check(
        "--version imports no heavy library",
        not heavy,
        "none" if not heavy else "imported: " + ", ".join(heavy),
    )
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
