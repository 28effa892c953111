"""A Griffe extension: Podium's docstrings use a few reST habits; render them as Markdown.

The core's docstrings are written to read well in ``help()`` and in editors, so they
use ``:class:`~podium.Secret``` roles and ``Example::`` literal blocks. mkdocstrings
renders Markdown, where those would show up verbatim. This rewrites, on the docs
side only:

* ``:role:`~dotted.Name``` and ``:role:`dotted.Name``` -> ```Name``` / ```dotted.Name```
* a paragraph ending in ``::`` followed by an indented block -> a fenced ``python`` block
* ````literal```` (reST double backticks) -> ```literal```
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj|ref):`(~?)([^`]+)`")
_DOUBLE_TICKS = re.compile(r"``([^`]+)``")


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def rst_to_markdown(text: str) -> str:
    """Rewrite the reST constructs Podium's docstrings use into Markdown."""
    text = _ROLE.sub(_role, text)
    text = _DOUBLE_TICKS.sub(r"`\1`", text)
    return _literal_blocks(text)


def _literal_blocks(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and not line.strip().startswith("```"):
            stripped = line.rstrip()[:-1]  # "Example::" -> "Example:"
            out.append(stripped if stripped.strip() != ":" else "")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            code = textwrap.dedent("\n".join(block)).strip("\n")
            out.extend(["", "```python", *code.splitlines(), "```", ""])
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Convert every docstring of the loaded packages once the tree is built."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and not obj.is_alias:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
