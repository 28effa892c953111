"""The server's dependencies stay out of every other command (start-up time, issue 21)."""

from __future__ import annotations

import subprocess
import sys

from conftest import Project

SERVER_MODULES = ("fastapi", "uvicorn", "uvloop", "starlette", "joserfc", "podium.serve.app")


def test_other_commands_do_not_import_the_server(project: Project) -> None:
    probe = f"""
import sys
from podium.cli.main import main
for args in (["--version"], ["tokens", "list"], ["history", "-e", "dev"], ["--help"]):
    try:
        main(args)
    except SystemExit:
        pass
loaded = [m for m in {SERVER_MODULES!r} if m in sys.modules]
print("LOADED", loaded)
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "LOADED []" in done.stdout, done.stdout + done.stderr
