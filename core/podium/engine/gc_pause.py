"""Pause the cyclic garbage collector while the engine builds large graphs.

Planning allocates tens of thousands of small, long-lived objects (records,
nodes, changes) and no cycles worth collecting. Each allocation burst triggers
collections whose full passes walk the whole growing heap, which made a no-op
plan of 10,000 nodes about 16 times slower than one of 1,000 instead of 10
(benchmarks/bench_plan.py). Reference counting still frees everything as usual.

The collector is process-wide: switching it off would change every thread of the host
program. So the library pauses it only when the embedder asks (``Platform(pause_gc=True)``);
the ``podium`` command owns its process and does.
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
                gc.enable()
