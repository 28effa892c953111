"""Getting a tracer from a provider without touching the process's warnings filters."""

from __future__ import annotations

import threading
import warnings
from typing import Any

_lock = threading.Lock()


def get_tracer(provider: Any, name: str, version: str) -> Any:
    """``provider.get_tracer(name, version)``, leaving ``warnings.filters`` as they were.

    The OpenTelemetry SDK's ``get_tracer`` installs a process-wide "ignore" filter
    on every call; a library must not change its host's filters, so they are
    restored. Call it once per platform and keep the tracer.
    """
    with _lock, warnings.catch_warnings():
        return provider.get_tracer(name, version)
