"""Score placeholders: ``${metadata.name}``, ``${resources.db.host}`` and their escapes.

The rules follow the Score reference implementation exactly:

* a placeholder is ``${path}``; the path is split on ``.``, and ``\\.`` keeps a dot
  inside one part (``${metadata.annotations.example\\.com/team}``);
* ``$$`` is a literal ``$`` and ``$${x}`` is the literal text ``${x}`` (its inside is
  kept verbatim); a ``$`` followed by anything else is left alone;
* a resolved value that is not a string is written as compact JSON with sorted keys.

Podium adds one rule: when any resolved value is a :class:`~podium.Secret`, the whole
result is a Secret, so ``postgres://u:${resources.db.password}@h`` never leaks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from podium.security.secret import Secret, contains_secret, reveal

#: Score's placeholder pattern: group 1 is ``{path}``, ``${path}`` (escaped) or ``$`` (``$$``).
PATTERN = re.compile(r"\$((?:\$?{([^}]*)})|\$)")

Resolver = Callable[[list[str]], Any]

_DOT = "\x00"


def split_path(inner: str) -> list[str]:
    """Split a placeholder's inside on dots, keeping ``\\.`` as a dot within a part."""
    return [part.replace(_DOT, ".") for part in inner.replace("\\.", _DOT).split(".")]


def _placeholders(template: str) -> Iterator[re.Match[str]]:
    """The matches that are real placeholders (not ``$$`` or ``$${...}`` escapes)."""
    for match in PATTERN.finditer(template):
        if not match.group(1).startswith("$"):
            yield match


def references(template: str) -> list[list[str]]:
    """The paths of every real placeholder in ``template``, in order."""
    return [split_path(match.group(2)) for match in _placeholders(template)]


def raw_references(template: str) -> list[str]:
    """The insides of every real placeholder, as written (for error messages)."""
    return [match.group(2) for match in _placeholders(template)]


def to_text(value: Any) -> str:
    """How Score writes a resolved value into a string: strings as-is, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, Secret):
        return value.reveal()
    return json.dumps(reveal(value), sort_keys=True, separators=(",", ":"), default=str)


def substitute(template: str, resolve: Resolver) -> str | Secret:
    """Expand every placeholder in ``template`` with ``resolve(path_parts)``.

    Errors raised by ``resolve`` propagate. The result is a :class:`Secret` when any
    resolved value was (or contained) one.
    """
    sensitive = False

    def replace(match: re.Match[str]) -> str:
        nonlocal sensitive
        body = match.group(1)
        if body.startswith("$"):
            # Score unescapes by dropping the first "$": "$$" -> "$", "$${x}" -> "${x}".
            return match.group(0)[1:]
        value = resolve(split_path(match.group(2)))
        if contains_secret(value):
            sensitive = True
        return to_text(value)

    result = PATTERN.sub(replace, template)
    return Secret(result) if sensitive else result


def expand(value: Any, resolve: Resolver) -> Any:
    """Substitute placeholders in every string inside ``value`` (dict values and list items).

    Dict keys are not expanded, as in Score. Non-string scalars are returned unchanged.
    """
    if isinstance(value, str):
        return substitute(value, resolve)
    if isinstance(value, dict):
        return {key: expand(item, resolve) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [expand(item, resolve) for item in value]
    return value


def escape(text: str) -> str:
    """The template that expands to exactly ``text``, with no placeholders in it.

    A ``$`` becomes ``$$``, except that ``${...}`` becomes ``$${...}``: Score keeps the
    inside of an escaped placeholder verbatim, so doubling a ``$`` in it would be wrong.
    Escape a whole literal at once: Score reads ``$${`` up to the next ``}``, so an
    escaped fragment ending in an unclosed ``${`` changes meaning when text follows it.
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        close = text.find("}", index + 2) if text.startswith("${", index) else -1
        if close != -1:
            out.append("$" + text[index : close + 1])
            index = close + 1
        else:
            out.append("$$")
            index += 1
    return "".join(out)


__all__ = [
    "PATTERN",
    "Resolver",
    "escape",
    "expand",
    "raw_references",
    "references",
    "split_path",
    "substitute",
    "to_text",
]
