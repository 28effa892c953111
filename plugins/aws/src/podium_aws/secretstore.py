"""``aws-secretsmanager``: Podium's secret store in AWS Secrets Manager."""

from __future__ import annotations

import re

from podium.plugin import InputError, NotFoundError, Secret, SecretStore
from podium_aws.clients import AwsClients
from podium_aws.naming import store_secret_name
from podium_aws.secretsmanager import SecretsManager
from podium_aws.settings import Settings

#: Characters Secrets Manager allows in a name (podium adds its own prefix).
_KEY = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,400}$")


class SecretsManagerStore(SecretStore):
    """Keys live at ``<secrets_prefix>/<platform>/store/<key>``, tagged with the platform."""

    name = "aws-secretsmanager"

    def __init__(self, settings: Settings, clients: AwsClients, platform: str) -> None:
        self._settings = settings
        self._platform = platform
        self._sm = SecretsManager(clients)

    def _name(self, key: str) -> str:
        if not _KEY.match(key):
            raise InputError(
                f"secret key {key!r} is not valid for Secrets Manager",
                hint="use letters, digits and / _ + = . @ - (at most 400 characters)",
            )
        return store_secret_name(self._settings, self._platform, key)

    def get(self, key: str) -> Secret:
        found = self._sm.read(self._name(key))
        if found is None:
            raise NotFoundError(f"no secret {key!r} in AWS Secrets Manager")
        return found.value

    def put(self, key: str, value: Secret) -> None:
        tags = dict(self._settings.tags)
        tags.update({"podium:platform": self._platform, "podium:managed-by": "podium-aws"})
        self._sm.write(self._name(key), _as_secret(value), tags=tags, description="podium secret")

    def delete(self, key: str) -> None:
        self._sm.delete(self._name(key))

    def list(self) -> list[str]:
        prefix = store_secret_name(self._settings, self._platform, "")
        return [name[len(prefix) :] for name in self._sm.names(prefix)]


def _as_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)
