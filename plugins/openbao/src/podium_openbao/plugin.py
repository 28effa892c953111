"""The podium-openbao plugin module (entry point ``openbao`` in group ``podium.plugins``).

Registration builds small objects around one lazy :class:`OpenBao` login per
platform; hvac is imported and the login made the first time one of them talks
to the server, never here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from podium.plugin import KeyProvider, Provisioner, SecretStore, hookimpl
from podium_openbao.client import OpenBao
from podium_openbao.settings import Settings

PODIUM_API = ">=1.3,<2"  # 1.3: podium_key_providers

__all__ = ["PODIUM_API", "Settings", "openbao_for"]

_lock = threading.Lock()
# Keyed by the settings object's identity (pydantic models are not hashable); the
# settings are kept alongside so an id is never reused while its entry lives.
_logins: dict[int, tuple[Settings, OpenBao]] = {}


def openbao_for(settings: Settings | None) -> OpenBao:
    """The shared lazy login for one platform's ``[plugins.openbao]`` settings."""
    resolved = settings if settings is not None else Settings()
    with _lock:
        entry = _logins.get(id(resolved))
        if entry is None:
            entry = (resolved, OpenBao(resolved))
            _logins[id(resolved)] = entry
        return entry[1]


@hookimpl
def podium_secret_stores(settings: Settings | None, platform_name: str) -> Iterable[SecretStore]:
    from podium_openbao.store import OpenBaoSecretStore

    return [OpenBaoSecretStore(openbao_for(settings), platform_name)]


@hookimpl
def podium_key_providers(settings: Settings | None) -> Iterable[KeyProvider]:
    from podium_openbao.transit import TransitKeyProvider

    return [TransitKeyProvider(openbao_for(settings))]


@hookimpl
def podium_provisioners(settings: Settings | None) -> Iterable[Provisioner]:
    from podium_openbao.provisioners.secret import OpenBaoSecretProvisioner

    bao = openbao_for(settings)
    found: list[Provisioner] = [OpenBaoSecretProvisioner(bao)]
    try:  # dynamic credentials for podium-local's databases, when it is installed
        from podium_openbao.provisioners.postgres import OpenBaoPostgresProvisioner
    except ImportError:
        return found
    found.append(OpenBaoPostgresProvisioner(bao))
    return found
