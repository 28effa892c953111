"""The :class:`Secret` value type.

A secret travels through Podium wrapped in :class:`Secret` so that every place
that might print it (repr, str, f-strings, logs, spans, JSON, plan output,
exceptions) sees ``(sensitive)`` instead. Only :meth:`Secret.reveal` returns the
value, and only code that must hand the value to a real system calls it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

REDACTED = "(sensitive)"


class Secret:
    """A sensitive string. Compare, hash and pass it around; reveal it only at the edge."""

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the plaintext. Call this only where the value leaves Podium for its target."""
        return self._value

    def fingerprint(self, key: bytes) -> str:
        """A keyed digest that detects a changed value without storing or showing it."""
        return hmac.new(key, self._value.encode(), hashlib.sha256).hexdigest()[:32]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("podium.Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        # Pickling would write the plaintext somewhere we do not control.
        raise TypeError("Secret values cannot be pickled")


def reveal(value: Any) -> Any:
    """Return ``value`` with every nested :class:`Secret` replaced by its plaintext."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [reveal(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """Return ``value`` with every nested :class:`Secret` replaced by ``"(sensitive)"``.

    A pydantic secret (``SecretStr``, ``Secret[...]``: what plugin settings use for
    credentials) becomes its own masked text, ``str(value)``, never its value.
    """
    if type(value) in _PLAIN:  # most values: no attribute lookups needed
        return value
    if isinstance(value, Secret):
        return REDACTED
    if hasattr(value, "get_secret_value"):
        return str(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


#: exact types that can hold no secret (subclasses take the full path)
_PLAIN = frozenset({str, int, float, bool, type(None)})


def contains_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_secret(v) for v in value)
    return False
