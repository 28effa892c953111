"""YAML for generated pipelines: key order kept, scripts as literal blocks, a comment header."""

from __future__ import annotations

import textwrap
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Keeps multi-line scripts readable (``|`` blocks) and never emits anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render(document: dict[str, Any], header: list[str]) -> str:
    """The YAML text of ``document`` under ``# header`` lines."""
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
    wrapped = [part for line in header for part in textwrap.wrap(line, 92) or [""]]
    comments = "".join(f"# {line}".rstrip() + "\n" for line in wrapped)
    return comments + "\n" + body
