"""The Score v1b1 JSON Schema shipped with Podium.

Copied from score-spec/spec (Apache-2.0); see README.md in this folder.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "score-v1b1.json"


@cache
def _schema_text() -> str:
    return resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def workload_json_schema() -> dict[str, Any]:
    """The official Score v1b1 schema (JSON Schema draft 2020-12), as a fresh dict."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


__all__ = ["SCHEMA_FILE", "workload_json_schema"]
