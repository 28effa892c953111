"""How the conformance kits report a broken contract.

Every failure names the rule, says what the contract requires and what happened.
Plugin exceptions are re-raised with the operation that raised them (the plugin's
traceback stays attached as the cause). Output diffs name the keys that differ and
show values only when they cannot hold a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import pytest

from podium.security.secret import Secret, contains_secret

T = TypeVar("T")

#: Output keys that look like they hold a secret; their values must never be plain ``str``.
SECRET_LOOKING = re.compile(r"(password|passwd|secret|token|(^|[_-])key$|private|credential)", re.I)


class PluginCallFailed(Exception):
    """A plugin method raised where the contract expects it to succeed."""


def broken(rule: str, requires: str, happened: str) -> NoReturn:
    """Fail the current test: contract rule ``rule`` requires ``requires``; ``happened`` did."""
    __tracebackhide__ = True
    pytest.fail(
        f"contract rule '{rule}' is broken\n  the contract: {requires}\n  what happened: {happened}",
        pytrace=False,
    )


def call(operation: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call plugin code; an exception becomes a failure that names ``operation``."""
    __tracebackhide__ = True
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        raise PluginCallFailed(
            f"{operation} raised {type(exc).__name__}: {redact_text(str(exc))} "
            "(the contract expects it to succeed here; the plugin's traceback is above)"
        ) from exc


def redact_text(text: str) -> str:
    return text if len(text) <= 500 else text[:500] + "..."


def is_sensitive(key: str, *values: Any) -> bool:
    """Whether printing ``values`` for ``key`` could show a secret."""
    return bool(SECRET_LOOKING.search(key)) or any(contains_secret(v) for v in values)


def key_list(outputs: Mapping[str, Any]) -> str:
    """The keys of ``outputs`` (never their values), for a message."""
    return ", ".join(repr(k) for k in sorted(outputs)) or "no keys"


def describe(value: Any) -> str:
    """A value for a message: mappings by their keys, so no secret is ever printed."""
    if value is None:
        return "None"
    if isinstance(value, Mapping):
        return f"outputs with keys [{key_list(value)}]"
    return f"a {type(value).__name__}"


def outputs_diff(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    first: str = "the first result",
    second: str = "the second result",
) -> list[str]:
    """What differs between two output mappings, one line per key, secrets never shown.

    Secrets compare by their revealed value (``Secret.__eq__``); a difference in a
    sensitive key is reported by name and type only.
    """
    lines = []
    for key in sorted(set(expected) | set(actual), key=str):
        if key not in actual:
            lines.append(f"{key!r}: in {first}, missing from {second}")
        elif key not in expected:
            lines.append(f"{key!r}: in {second}, missing from {first}")
        elif expected[key] != actual[key]:
            first, second = expected[key], actual[key]
            if is_sensitive(str(key), first, second):
                kinds = (
                    f" ({type(first).__name__} then {type(second).__name__})"
                    if type(first) is not type(second)
                    else ""
                )
                lines.append(f"{key!r}: sensitive value differs{kinds} (values not shown)")
            else:
                lines.append(f"{key!r}: {first!r} != {second!r}")
    return lines


def secret_type_problems(outputs: Mapping[str, Any], declared_secret: frozenset[str]) -> list[str]:
    """Sensitive outputs that are plain ``str``, and ``Secret`` outputs nobody declared."""
    problems = []
    for key, value in sorted(outputs.items(), key=lambda item: str(item[0])):
        if key in declared_secret and not isinstance(value, Secret):
            problems.append(
                f"{key!r} is declared sensitive but is a {type(value).__name__}, not a Secret"
            )
        elif contains_secret(value) and key not in declared_secret:
            holds = "is a Secret" if isinstance(value, Secret) else "holds a Secret"
            problems.append(
                f"{key!r} {holds} but is not declared sensitive "
                "(Output(sensitive=True), or secret_outputs)"
            )
        elif isinstance(value, str) and value and SECRET_LOOKING.search(str(key)):
            problems.append(f"{key!r} looks secret but is a plain str: return Secret(...)")
    return problems


def expect(ok: object, rule: str, requires: str, happened: str) -> None:
    """``broken(rule, requires, happened)`` unless ``ok``."""
    __tracebackhide__ = True
    if not ok:
        broken(rule, requires, happened)


def valid_name(name: object, what: str) -> None:
    """The registration-name rule every kit checks."""
    __tracebackhide__ = True
    from podium.platform.context import validate_name

    try:
        validate_name(name, what)
    except ValueError as exc:
        broken(
            "valid-registration-name", f"the {what}'s name is a valid registration name", str(exc)
        )
