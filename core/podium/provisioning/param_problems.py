"""pydantic's validation errors as problems a Score author can act on.

Each problem names the path into the params as written (pydantic's union member tags
left out), says what is wrong in one sentence (a union's failures merged), and is
left out when the value holds a placeholder: that is known only at apply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from podium.provisioning.schema import suggestion
from podium.workload.placeholders import PATTERN

ParamPath = tuple[str | int, ...]

#: pydantic error types about a key (missing, or not allowed) rather than a value
_KEY_ERRORS = ("missing", "extra_forbidden")


@dataclass(frozen=True)
class ParamProblem:
    """One param that does not fit the model: ``path`` into the params, and why."""

    path: ParamPath
    message: str


def param_problems(exc: Any, params: Mapping[str, Any], known: Sequence[str]) -> list[ParamProblem]:
    """The problems in pydantic's ValidationError ``exc`` for ``params``; ``known`` are
    the model's param names (suggested for an unknown one)."""
    #: per path: whole messages, and pydantic's reasons (merged into one sentence)
    grouped: dict[ParamPath, tuple[list[str], list[str]]] = {}
    found: dict[ParamPath, Any] = {}
    for error in exc.errors(include_url=False):
        kind = error.get("type", "")
        path = _input_path(tuple(error.get("loc", ())), params, kind in _KEY_ERRORS)
        if _holds_placeholder(params, path):
            continue
        whole, reasons = grouped.setdefault(path, ([], []))
        shown = _shown(path)
        if kind == "extra_forbidden":
            whole.append(f"unknown param {shown!r}" + suggestion(str(path[-1]), list(known)))
        elif kind == "missing":
            whole.append(f"missing required param {shown!r}")
        else:
            reason = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            if reason not in reasons:
                reasons.append(reason)
            if "input" in error and not isinstance(error["input"], dict | list):
                found[path] = error["input"]
    problems: list[ParamProblem] = []
    for path, (whole, reasons) in grouped.items():
        if reasons:
            text = f"param {_shown(path)!r}: {_merge(reasons)}"
            if path in found:
                text += f" (found {found[path]!r})"
            whole.append(text)
        problems.append(ParamProblem(path, "; ".join(whole)))
    return problems


def _shown(path: ParamPath) -> str:
    return ".".join(str(part) for part in path) or "params"


def _merge(reasons: list[str]) -> str:
    """A union's members fail separately: 'Input should be a valid integer or a valid string'."""
    prefix = "Input should be "
    if len(reasons) > 1 and all(reason.startswith(prefix) for reason in reasons):
        return prefix + " or ".join(reason[len(prefix) :] for reason in reasons)
    return "; ".join(reasons)


def _input_path(loc: tuple[Any, ...], data: Any, names_a_key: bool) -> ParamPath:
    """pydantic's error location as a path into the input (union member tags dropped).

    ``names_a_key``: the error is about a key (missing, or not allowed), so its last
    part is a key the input may lack rather than a tag.
    """
    path: list[str | int] = []
    current: Any = data
    for index, part in enumerate(loc):
        if isinstance(current, Mapping):
            if part in current or (names_a_key and index == len(loc) - 1):
                path.append(part)
                current = current.get(part)
                continue
            break
        if isinstance(current, list):
            if isinstance(part, int) and 0 <= part < len(current):
                path.append(part)
                current = current[part]
            continue  # a union tag inside a list: the index follows
        break  # a scalar has no children: the rest are tags
    return tuple(path)


def _holds_placeholder(params: Mapping[str, Any], path: ParamPath) -> bool:
    """Whether the value at ``path`` (or on the way to it) is, or holds, a placeholder."""
    current: Any = params
    for part in path:
        if isinstance(current, str):
            break
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return False
    return any(_has_placeholder(text) for text in _strings(current))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _has_placeholder(text: str) -> bool:
    return "${" in text and any(
        not match.group(1).startswith("$") for match in PATTERN.finditer(text)
    )


__all__ = ["ParamPath", "ParamProblem", "param_problems"]
