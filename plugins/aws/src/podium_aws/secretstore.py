"""``aws-secretsmanager``: Podium's secret store in AWS Secrets Manager."""

from __future__ import annotations

import builtins
import re

from podium.plugin import InputError, NotFoundError, Secret, SecretStore, SecretVersion
from podium_aws.clients import AwsClients
from podium_aws.naming import store_secret_name
from podium_aws.secretsmanager import SecretsManager
from podium_aws.settings import Settings

#: Characters Secrets Manager allows in a name (podium adds its own prefix).
_KEY = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,400}$")
#: Environment names become one path segment.
_ENV = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: The tag holding Podium's version number of the secret's current value.
VERSION_TAG = "podium:version"


class SecretsManagerStore(SecretStore):
    """Keys live at ``<secrets_prefix>/<platform>/store/<key>`` (platform-wide) and
    ``<secrets_prefix>/<platform>/env-store/<env>/<key>`` (one environment's own value),
    tagged with the platform and the version number (``podium:version``).

    Versions count the writes that changed the value. Deleting removes the secret at
    once, tags included, so a key set again after a delete starts at 1; the plan still
    notices the new value through Secrets Manager's own version id (``revision``).
    """

    name = "aws-secretsmanager"
    scoped = True

    def __init__(self, settings: Settings, clients: AwsClients, platform: str) -> None:
        self._settings = settings
        self._platform = platform
        self._sm = SecretsManager(clients)

    def _name(self, key: str, env: str | None = None) -> str:
        if not _KEY.match(key):
            raise InputError(
                f"secret key {key!r} is not valid for Secrets Manager",
                hint="use letters, digits and / _ + = . @ - (at most 400 characters)",
            )
        if env is not None and not _ENV.match(env):
            raise InputError(f"environment name {env!r} is not valid for Secrets Manager")
        return store_secret_name(self._settings, self._platform, key, env)

    # --- 0.1: platform-wide ---------------------------------------------------
    def get(self, key: str) -> Secret:
        return self.get_in(key, None)

    def put(self, key: str, value: Secret) -> None:
        self.put_in(key, value, None)

    def delete(self, key: str) -> None:
        self.delete_in(key, None)

    def list(self) -> builtins.list[str]:
        return [entry.key for entry in self.versions(None)]

    # --- per environment, with versions --------------------------------------
    def get_in(self, key: str, env: str | None) -> Secret:
        found = self._sm.read(self._name(key, env))
        if found is None:
            scope = "" if env is None else f" for environment {env!r}"
            raise NotFoundError(f"no secret {key!r}{scope} in AWS Secrets Manager")
        return found.value

    def put_in(self, key: str, value: Secret, env: str | None) -> int:
        name = self._name(key, env)
        value = _as_secret(value)
        current = self._sm.read(name)
        if current is not None and current.value == value:
            return _version(current.tags)  # the same value: no new version
        version = (_version(current.tags) if current is not None else 0) + 1
        tags = dict(self._settings.tags)
        tags.update(
            {
                "podium:platform": self._platform,
                "podium:managed-by": "podium-aws",
                VERSION_TAG: str(version),
            }
        )
        if env is not None:
            tags["podium:environment"] = env
        self._sm.write(name, value, tags=tags, description="podium secret")
        return version

    def delete_in(self, key: str, env: str | None) -> None:
        self._sm.delete(self._name(key, env))

    def versions(self, env: str | None) -> builtins.list[SecretVersion]:
        prefix = store_secret_name(self._settings, self._platform, "", env)
        found = self._sm.tagged(prefix)
        return [
            SecretVersion(name[len(prefix) :], _version(tags), env)
            for name, tags in sorted(found.items())
        ]

    def version_of(self, key: str, env: str | None) -> SecretVersion | None:
        # Described, not read: planning needs no permission to read secret values.
        found = self._sm.describe(self._name(key, env))
        if found is None:
            return None
        tags, version_id = found
        return SecretVersion(key, _version(tags), env, revision=version_id)


def _version(tags: dict[str, str]) -> int:
    """The version tag; a secret written before versions were tagged is version 1."""
    try:
        return max(1, int(tags.get(VERSION_TAG, "1")))
    except ValueError:
        return 1


def _as_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)
