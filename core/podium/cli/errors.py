"""Turn exceptions into one clear message and a documented exit code."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import click

from podium.cli.context import CliState, colour
from podium.cli.document import stdout_reserved_for_document
from podium.errors import ExitCode, PodiumError

#: 128 + SIGINT, what shells report for a command stopped by Ctrl-C
EXIT_INTERRUPTED = 130


def run_cli(cli: click.Group, argv: list[str], prog_name: str) -> Any:
    json_output = "--json" in argv
    if not json_output:
        return _run_and_close(cli, argv, prog_name, CliState(), json_output=False)
    with stdout_reserved_for_document() as document:
        return _run_and_close(cli, argv, prog_name, CliState(document=document), json_output=True)


def _run_and_close(
    cli: click.Group, argv: list[str], prog_name: str, state: CliState, json_output: bool
) -> Any:
    """Run the command, then close its platform: that flushes spans (Podium has no exit hook)."""
    try:
        return _run(cli, argv, prog_name, state, json_output)
    finally:
        try:
            state.close()
        except Exception as exc:  # the command's outcome stands; say what failed to close
            from podium.observability.logging import get_logger

            get_logger("podium.cli").warning("closing the platform failed", error=str(exc))


def _run(
    cli: click.Group, argv: list[str], prog_name: str, state: CliState, json_output: bool
) -> Any:
    debug = "--debug" in argv or os.environ.get("PODIUM_DEBUG") == "1"
    try:
        cli.main(args=argv, prog_name=prog_name, standalone_mode=False, obj=state)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; a declined question is one too (before any change)
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        _stopped("Interrupted." if interrupted else "Aborted: nothing was changed.", json_output)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE if isinstance(exc, click.UsageError) else ExitCode.ERROR)
    except PodiumError as exc:
        if exc.hint:
            from podium.cli.hints import complete_hint

            exc.hint = complete_hint(exc.hint, state, cli)
        _report(exc, exc.to_dict(), exc.exit_code, debug, json_output)
    except KeyboardInterrupt:
        _stopped("Interrupted.", json_output)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # an internal bug: say so, show the traceback only on request
        data = {"error": type(exc).__name__, "message": f"internal error: {exc}"}
        _report(exc, data, ExitCode.ERROR, debug, json_output, internal=True)
    sys.exit(ExitCode.OK)


def _stopped(message: str, json_output: bool) -> None:
    """Exit 130, the shell's code for a command stopped by Ctrl-C (documented)."""
    if json_output:
        data = {"error": "Interrupted", "message": message, "exit_code": EXIT_INTERRUPTED}
        click.echo(json.dumps(data), err=True)
    else:
        click.echo(message, err=True)
    sys.exit(EXIT_INTERRUPTED)


def _report(
    exc: BaseException,
    data: dict[str, Any],
    code: int,
    debug: bool,
    json_output: bool,
    internal: bool = False,
) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if json_output:
        # On stderr, so stdout holds exactly the command's own JSON document (or none).
        click.echo(json.dumps({**data, "exit_code": int(code)}, default=str), err=True)
    else:
        message = str(exc) if not internal else f"internal error: {type(exc).__name__}: {exc}"
        click.secho(f"error: {message}", fg="red", err=True, color=colour())
        if internal and not debug:
            click.echo("  (run with --debug for the traceback)", err=True)
    sys.exit(int(code))
