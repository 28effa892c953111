"""Provisioning domain: resource provisioners and their hooks."""

from podium.provisioning.contract import Outputs, Provisioner, ResourceContext

__all__ = ["Outputs", "Provisioner", "ResourceContext"]
