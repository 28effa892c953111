"""Provisioning domain: resource provisioners, their hooks and their schemas."""

from podium.provisioning.contract import Outputs, Provisioner, ResourceContext
from podium.provisioning.schema import Output, Param, ResourceSchema, resource_schema

__all__ = [
    "Output",
    "Outputs",
    "Param",
    "Provisioner",
    "ResourceContext",
    "ResourceSchema",
    "resource_schema",
]
