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
from collections.abc import Callable
from typing import Any

from podium.security.secret import Secret, contains_secret, reveal

#: Score's placeholder pattern: group 1 is ``{path}``, ``${path}`` (escaped) or ``$`` (``$$``).
PATTERN = re.compile(r"\$((?:\$?{([^}]*)})|\$)")

Resolver = Callable[[list[str]], Any]

#: Most characters placeholders may insert into one value (a variable, a file's content, a
#: param). Real values insert a few KiB; a config file filled from metadata stays far below.
MAX_EXPANDED_VALUE = 1024 * 1024
#: Most characters placeholders may insert into all values of one workload. Without these
#: caps a 473 KB Score file (a large metadata value referenced thousands of times) expands
#: to gigabytes and takes the process down during apply. Literal text is not counted: the
#: size limits of Score files and source files bound it already.
MAX_EXPANDED_TOTAL = 16 * 1024 * 1024


class ExpansionTooLarge(Exception):
    """Placeholders would insert more than :data:`MAX_EXPANDED_VALUE` into one value, or more
    than :data:`MAX_EXPANDED_TOTAL` into one workload."""


class ExpansionBudget:
    """How much text placeholders may still insert: one per workload, shared by its values."""

    def __init__(
        self, per_value: int = MAX_EXPANDED_VALUE, total: int = MAX_EXPANDED_TOTAL
    ) -> None:
        self.per_value = per_value
        self.remaining = total
        self.total = total

    def limit(self) -> int:
        """The most placeholders may insert into the next value."""
        return min(self.per_value, self.remaining)

    def spend(self, size: int) -> None:
        if size > self.remaining:
            raise self.too_large(size)
        self.remaining -= size

    def too_large(self, at_least: int) -> ExpansionTooLarge:
        """The error for a value into which placeholders would insert ``at_least`` characters."""
        if at_least > self.per_value:
            return ExpansionTooLarge(
                f"placeholders would insert more than {self.per_value} characters into this "
                f"value (at most {self.per_value} per value)"
            )
        return ExpansionTooLarge(
            f"placeholders would insert more than {self.total} characters into this "
            f"workload's values (at most {self.total} per workload)"
        )


_DOT = "\x00"


def split_path(inner: str) -> list[str]:
    """Split a placeholder's inside on dots, keeping ``\\.`` as a dot within a part."""
    if "\\" not in inner and _DOT not in inner:
        return inner.split(".")  # the usual case, without the escape dance
    return [part.replace(_DOT, ".") for part in inner.replace("\\.", _DOT).split(".")]


def references(template: str) -> list[list[str]]:
    """The paths of every real placeholder in ``template``, in order."""
    return [split_path(inner) for inner in raw_references(template)]


def raw_references(template: str) -> list[str]:
    """The insides of every real placeholder, as written (for error messages)."""
    if "$" not in template:
        return []
    # findall works in C; a body starting with "$" is an escape ("$$" or "$${...}").
    return [inner for body, inner in PATTERN.findall(template) if body[0] != "$"]


def to_text(value: Any) -> str:
    """How Score writes a resolved value into a string: strings as-is, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, Secret):
        return value.reveal()
    return json.dumps(reveal(value), sort_keys=True, separators=(",", ":"), default=str)


def substitute(
    template: str, resolve: Resolver, budget: ExpansionBudget | None = None
) -> str | Secret:
    """Expand every placeholder in ``template`` with ``resolve(path_parts)``.

    Errors raised by ``resolve`` propagate. The result is a :class:`Secret` when any
    resolved value was (or contained) one. With a ``budget``, ExpansionTooLarge is
    raised as soon as placeholders would insert more than it allows, before the text
    is built.
    """
    if "$" not in template:  # most strings: nothing to expand, nothing to unescape
        return template
    sensitive = False
    limit = budget.limit() if budget is not None else None
    inserted = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal sensitive
        body = match.group(1)
        if body.startswith("$"):
            # Score unescapes by dropping the first "$": "$$" -> "$", "$${x}" -> "${x}".
            return match.group(0)[1:]
        nonlocal inserted
        value = resolve(split_path(match.group(2)))
        if contains_secret(value):
            sensitive = True
        text = to_text(value)
        inserted += len(text)
        if limit is not None and budget is not None and inserted > limit:
            raise budget.too_large(inserted)
        return text

    result = PATTERN.sub(replace, template)
    if budget is not None:
        budget.spend(inserted)
    return Secret(result) if sensitive else result


def expand(value: Any, resolve: Resolver, budget: ExpansionBudget | None = None) -> Any:
    """Substitute placeholders in every string inside ``value`` (dict values and list items).

    Dict keys are not expanded, as in Score. Non-string scalars are returned unchanged.
    """
    if isinstance(value, str):
        return substitute(value, resolve, budget)
    if isinstance(value, dict):
        return {key: expand(item, resolve, budget) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [expand(item, resolve, budget) for item in value]
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
    "MAX_EXPANDED_TOTAL",
    "MAX_EXPANDED_VALUE",
    "PATTERN",
    "ExpansionBudget",
    "ExpansionTooLarge",
    "Resolver",
    "escape",
    "expand",
    "raw_references",
    "references",
    "split_path",
    "substitute",
    "to_text",
]
