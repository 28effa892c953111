"""Run a plugin call with a deadline.

Python cannot stop a thread. To give a registration hook a deadline, the call
runs in a daemon thread and the caller waits for it at most ``seconds``: when
the deadline passes, the caller moves on with :class:`HookTimeoutError` and the
hung call keeps running in the background until it returns or the process
exits (a daemon thread never keeps the process alive). Embedders whose process
lives on should treat a plugin that timed out as broken and restart.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class HookTimeoutError(TimeoutError):
    """A plugin call did not return within its deadline (it may still be running)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not return within {seconds:g}s")
        self.seconds = seconds


def call_with_timeout(func: Callable[[], T], seconds: float, *, thread_name: str) -> T:
    """``func()``, or :class:`HookTimeoutError` when it has not returned after ``seconds``.

    The call sees the caller's context variables (log context, the current
    span), as if it ran in the calling thread.
    """
    context = contextvars.copy_context()
    done = threading.Event()
    returned: list[T] = []
    raised: list[BaseException] = []

    def run() -> None:
        try:
            returned.append(context.run(func))
        except BaseException as exc:  # handed to the waiting caller, re-raised there
            raised.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=thread_name, daemon=True).start()
    if not done.wait(seconds):
        raise HookTimeoutError(seconds)
    if raised:
        raise raised[0]
    return returned[0]
