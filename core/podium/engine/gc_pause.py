"""Pause the cyclic garbage collector while the engine builds large graphs.

Planning allocates tens of thousands of small, long-lived objects (records,
nodes, changes) and no cycles worth collecting. Each allocation burst triggers
collections whose full passes walk the whole growing heap, which made a no-op
plan of 10,000 nodes about 16 times slower than one of 1,000 instead of 10
(benchmarks/bench_plan.py). Reference counting still frees everything as usual.

The collector is process-wide: switching it off would change every thread of the host
program. So the library pauses it only when the embedder asks (``Platform(pause_gc=True)``);
the ``podium`` command owns its process and does.

Resuming moves what the pause kept alive straight to the oldest generation (see
:func:`_resume`), so switching the collector back on does not start a pass over it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def gc_paused(enabled: bool = True) -> Iterator[None]:
    """Disable the cyclic collector for the block; nested and concurrent uses are counted.

    With ``enabled=False`` the block runs with the collector left as it is.
    """
    global _holders, _was_enabled
    if not enabled:
        yield
        return
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                _resume()


def _resume() -> None:
    """Switch the collector back on, with what the pause kept alive in the oldest generation.

    Every allocation of the pause still counted toward the youngest generation, so the
    first allocation after :func:`gc.enable` would start a pass over each object the pause
    allocated and kept: a 20,000-node plan's changes and records, 60 ms of its 600 on the
    benchmark machine and growing faster than the plan (the objects no longer fit in the
    caches). They are meant to live (a plan is kept to be reviewed and applied), so
    ``freeze()`` then ``unfreeze()`` moves them to the oldest generation in constant time
    and resets the count; the next full collection examines them like any other old
    object, and frees any cycle among them then. Skipped when the host program froze
    objects of its own: ``unfreeze()`` would release those too.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    gc.enable()
