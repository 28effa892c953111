"""Security domain: the Secret type, secret stores and policies."""

from podium.security.contract import Finding, Level, PolicyPack, SecretStore
from podium.security.secret import Secret

__all__ = ["Finding", "Level", "PolicyPack", "Secret", "SecretStore"]
