"""``[plugins.openbao]`` in ``podium.toml``.

Credentials are pydantic ``SecretStr``: ``podium plugins info`` and ``doctor`` show
them as ``**********`` and no error message quotes them. Prefer leaving them out of
``podium.toml`` altogether: the token then comes from ``BAO_TOKEN`` (or
``VAULT_TOKEN``) and the AppRole secret id from ``BAO_SECRET_ID``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: A mount or path prefix: segments of letters, digits, ``_ . -``, joined by ``/``.
_PATH = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")
#: A duration as OpenBao reads it: seconds, or a number with s, m or h.
_DURATION = re.compile(r"^[0-9]+[smh]?$")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(
        default=None,
        description="The server's URL; default: BAO_ADDR, then VAULT_ADDR, then "
        "http://127.0.0.1:8200.",
    )
    namespace: str | None = Field(
        default=None, description="The namespace to work in (OpenBao and Vault Enterprise)."
    )
    auth: Literal["token", "approle"] = Field(
        default="token", description="How Podium logs in: a token, or an AppRole login."
    )
    token: SecretStr | None = Field(
        default=None,
        description="The token (auth = token); default: BAO_TOKEN, then VAULT_TOKEN.",
    )
    approle_mount: str = Field(default="approle", description="Where the AppRole method is.")
    role_id: str | None = Field(
        default=None, description="The AppRole role id (auth = approle); default: BAO_ROLE_ID."
    )
    secret_id: SecretStr | None = Field(
        default=None,
        description="The AppRole secret id (auth = approle); default: BAO_SECRET_ID.",
    )
    mount: str = Field(default="secret", description="The KV version 2 engine's mount.")
    prefix: str = Field(
        default="podium",
        description="Path under the mount where Podium's secret store keeps its keys "
        "(<prefix>/<platform>/platform/<key> and <prefix>/<platform>/env/<env>/<key>).",
    )
    database_mount: str = Field(
        default="database", description="The database secrets engine's mount (dynamic credentials)."
    )
    transit_mount: str = Field(
        default="transit",
        description="The transit engine's mount: [secrets] key_provider = 'openbao' wraps "
        "the state's data key with its key [secrets] wrapping_key.",
    )
    lease_ttl: str = Field(
        default="24h",
        description="Lifetime of the database credentials a release gets (OpenBao's "
        "default_ttl). Pick at least the time a release lives between refreshes.",
    )
    lease_max_ttl: str = Field(
        default="768h", description="The longest those credentials may be kept (max_ttl)."
    )
    verify: bool | str = Field(
        default=True, description="TLS verification: false, or a CA bundle's path."
    )
    timeout: float = Field(default=10.0, gt=0, description="Seconds per request.")

    @field_validator("mount", "prefix", "database_mount", "approle_mount", "transit_mount")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _PATH.match(value) or ".." in value.split("/"):
            raise ValueError("use path segments of letters, digits and _ . - joined by /")
        return value

    @field_validator("lease_ttl", "lease_max_ttl")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError("use seconds, or a number followed by s, m or h (such as 24h)")
        return value
