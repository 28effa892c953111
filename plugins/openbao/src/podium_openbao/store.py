"""``openbao``: Podium's secret store on OpenBao's (or Vault's) KV version 2 engine."""

from __future__ import annotations

import builtins
import re

from podium.plugin import InputError, NotFoundError, Secret, SecretStore, SecretVersion
from podium_openbao.client import OpenBao
from podium_openbao.kv import Kv

#: Keys: path segments of letters, digits and ``_ . @ + = -`` joined by ``/``.
_KEY = re.compile(r"^[A-Za-z0-9_.@+=-]+(?:/[A-Za-z0-9_.@+=-]+)*$")
_ENV = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: Each stored secret keeps its value in this field.
FIELD = "value"


class OpenBaoSecretStore(SecretStore):
    """Keys live at ``<mount>/<prefix>/<platform>/platform/<key>`` (platform-wide) and
    ``<mount>/<prefix>/<platform>/env/<env>/<key>`` (one environment's own value).

    Versions are KV v2's. A delete removes every version and the metadata, so a key
    set again starts at version 1; the value's ``created_time`` is the ``revision``,
    which tells the plan a new value apart even then.
    """

    name = "openbao"
    scoped = True

    def __init__(self, bao: OpenBao, platform: str) -> None:
        self._kv = Kv(bao, bao.settings.mount)
        self._root = f"{bao.settings.prefix}/{platform}"

    def _folder(self, env: str | None) -> str:
        if env is None:
            return f"{self._root}/platform/"
        if not _ENV.match(env):
            raise InputError(f"environment name {env!r} is not valid for OpenBao paths")
        return f"{self._root}/env/{env}/"

    def _path(self, key: str, env: str | None) -> str:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise InputError(
                f"secret key {key!r} is not valid for OpenBao",
                hint="use path segments of letters, digits and _ . @ + = - joined by /",
            )
        return self._folder(env) + key

    # --- 0.1: platform-wide ---------------------------------------------------
    def get(self, key: str) -> Secret:
        return self.get_in(key, None)

    def put(self, key: str, value: Secret) -> None:
        self.put_in(key, value, None)

    def delete(self, key: str) -> None:
        self.delete_in(key, None)

    def list(self) -> builtins.list[str]:
        return self._kv.keys(self._folder(None))

    # --- per environment, with versions --------------------------------------
    def get_in(self, key: str, env: str | None) -> Secret:
        found = self._kv.read(self._path(key, env))
        if found is None or FIELD not in found.fields:
            scope = "" if env is None else f" for environment {env!r}"
            raise NotFoundError(f"no secret {key!r}{scope} in OpenBao")
        return found.fields[FIELD]

    def put_in(self, key: str, value: Secret, env: str | None) -> int:
        path = self._path(key, env)
        value = value if isinstance(value, Secret) else Secret(value)
        current = self._kv.read(path)
        if current is not None and current.fields.get(FIELD) == value:
            return current.version  # the same value: no new version
        return self._kv.write(path, {FIELD: value})

    def delete_in(self, key: str, env: str | None) -> None:
        self._kv.destroy(self._path(key, env))

    def resolve_value(self, key: str, env: str) -> tuple[Secret, int] | None:
        """``key``'s value and version as environment ``env`` sees it (its own value,
        else the platform-wide one): one read, two when the environment has none."""
        for scope in (env, None):
            found = self._kv.read(self._path(key, scope))
            if found is not None and FIELD in found.fields:
                return found.fields[FIELD], found.version
        return None

    def versions(self, env: str | None) -> builtins.list[SecretVersion]:
        folder = self._folder(env)
        found = []
        for key in self._kv.keys(folder):
            entry = self.version_of(key, env)
            if entry is not None:
                found.append(entry)
        return found

    def version_of(self, key: str, env: str | None) -> SecretVersion | None:
        # Metadata only: planning needs no permission to read secret values.
        meta = self._kv.metadata(self._path(key, env))
        if meta is None:
            return None
        version, created = meta
        return SecretVersion(key, version, env, revision=created)
