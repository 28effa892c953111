"""The ``podium`` executable: the shortest way to each command's answer.

``podium --version`` is answered before anything else is loaded (scripts and shell
prompts ask for it often). Read-only commands go to the warm process when it is
wanted and can serve them (:mod:`podium.cli.warm`). Everything else, and anything the
warm process refuses, runs here through click, as it always did.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any


def main(argv: list[str] | None = None) -> Any:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from podium.version import __version__

        # click's version option writes the same line (tests compare the two)
        sys.stdout.write(f"podium, version {__version__}\n")
        return None
    from podium.cli import warm

    if warm.routed_command(args) is not None and warm.wanted(os.environ):
        with contextlib.suppress(warm.NotServed):  # refused before anything ran: run it here
            sys.exit(warm.run_warm(args, os.environ))
    from podium.cli.main import main as run

    return run(args)
