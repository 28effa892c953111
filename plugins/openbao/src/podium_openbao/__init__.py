"""podium-openbao: secrets in OpenBao (or HashiCorp Vault) for Podium."""

__version__ = "0.1.0"
