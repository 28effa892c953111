"""The ``podium`` executable: answers ``podium --version`` before loading the CLI.

Scripts and shell prompts ask for the version often; loading click and the command
table only to print one line costs more than the interpreter's own start-up. Every
other invocation (``--version`` beside other options included) goes through click.
"""

from __future__ import annotations

import sys
from typing import Any


def main(argv: list[str] | None = None) -> Any:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from podium.version import __version__

        # click's version option writes the same line (tests compare the two)
        sys.stdout.write(f"podium, version {__version__}\n")
        return None
    from podium.cli.main import main as run

    return run(args)
