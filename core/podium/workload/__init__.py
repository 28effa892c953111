"""Score workloads: load and validate them, expand placeholders, render them for deployers.

Importing this package is cheap; the schema validators load on the first validation.

    from podium.workload import load_workloads, render_workload
    workloads = load_workloads(["score.yaml"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.workload.loader import (
        WorkloadErrors,
        check_group,
        errors_of,
        load_workload_file,
        load_workload_text,
        load_workloads,
    )
    from podium.workload.model import ResourceRequest, Workload, resource_uid
    from podium.workload.render import make_resolver, render_workload, resolve_params
    from podium.workload.schema import workload_json_schema

_LAZY = {
    "ResourceRequest": "podium.workload.model",
    "Workload": "podium.workload.model",
    "resource_uid": "podium.workload.model",
    "WorkloadErrors": "podium.workload.loader",
    "check_group": "podium.workload.loader",
    "errors_of": "podium.workload.loader",
    "load_workload_file": "podium.workload.loader",
    "load_workload_text": "podium.workload.loader",
    "load_workloads": "podium.workload.loader",
    "make_resolver": "podium.workload.render",
    "render_workload": "podium.workload.render",
    "resolve_params": "podium.workload.render",
    "workload_json_schema": "podium.workload.schema",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'podium.workload' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ResourceRequest",
    "Workload",
    "WorkloadErrors",
    "check_group",
    "errors_of",
    "load_workload_file",
    "load_workload_text",
    "load_workloads",
    "make_resolver",
    "render_workload",
    "resolve_params",
    "resource_uid",
    "workload_json_schema",
]
