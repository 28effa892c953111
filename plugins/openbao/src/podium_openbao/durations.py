"""OpenBao's durations (``90``, ``30s``, ``15m``, ``24h``) in seconds."""

from __future__ import annotations

_UNITS = {"s": 1, "m": 60, "h": 3600}


def seconds(duration: str) -> int:
    """Seconds in ``duration``, as the settings validator accepts it."""
    text = duration.strip()
    if text and text[-1] in _UNITS:
        return int(text[:-1]) * _UNITS[text[-1]]
    return int(text)
