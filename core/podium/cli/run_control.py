"""``--lock-timeout`` and Ctrl-C for the commands that change an environment.

The first Ctrl-C cancels the run (:meth:`podium.api.Platform.cancel`): changes already
running finish and are recorded, the lock is released, history says ``cancelled`` and
the command exits 130. A second Ctrl-C stops at once, as Python does by default.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.observability.contract import Event

F = TypeVar("F", bound=Callable[..., Any])


def lock_timeout_option(func: F) -> F:
    return click.option(
        "--lock-timeout",
        "lock_timeout",
        type=click.FloatRange(min=0),
        default=0,
        show_default=True,
        metavar="SECONDS",
        help="Wait up to SECONDS for another run holding the state lock (0: fail at once).",
    )(func)


class RunControl:
    """What a command checks between its steps: whether Ctrl-C already asked to stop."""

    def __init__(self) -> None:
        self.interrupted = False

    def check(self) -> None:
        """Raise :class:`~podium.errors.CancelledError` if Ctrl-C came before this step."""
        if self.interrupted:
            from podium.errors import CancelledError

            raise CancelledError("cancelled before anything was changed")


@contextmanager
def controlled_run(platform: Platform, *, quiet: bool = False) -> Iterator[RunControl]:
    """Ctrl-C cancels the platform's run; waits for the lock are announced on stderr."""
    control = RunControl()
    subscription = None if quiet else platform.subscribe(_announce_wait)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        # Nothing running (a prompt, say) or a second Ctrl-C: stop at once, as by default.
        if control.interrupted or not platform.cancel():
            raise KeyboardInterrupt
        control.interrupted = True
        click.echo(
            "Cancelling: the running changes finish and are recorded, nothing new starts "
            "(Ctrl-C again to stop at once).",
            err=True,
        )

    # Signal handlers belong to the main thread (the CLI's); elsewhere Ctrl-C is left alone.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if main else None
    try:
        yield control
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        if subscription is not None:
            subscription.cancel()


def _announce_wait(event: Event) -> None:
    if event.kind == "lock.waiting":
        click.echo(f"Waiting for the state lock: {event.message}", err=True)
