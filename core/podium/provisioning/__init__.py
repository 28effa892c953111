"""Provisioning domain: resource provisioners, their hooks and their schemas.

The schema names load on first use (:mod:`podium._lazy`): commands that never read a
resource schema (``podium status``, ``plugins list``) do not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium._lazy import lazy_exports
from podium.provisioning.contract import Outputs, Provisioner, ResourceContext

if TYPE_CHECKING:
    from podium.provisioning.schema import Output, Param, ResourceSchema, resource_schema

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"podium.provisioning.schema": ("Output", "Param", "ResourceSchema", "resource_schema")},
)

__all__ = [
    "Output",
    "Outputs",
    "Param",
    "Provisioner",
    "ResourceContext",
    "ResourceSchema",
    "resource_schema",
]
