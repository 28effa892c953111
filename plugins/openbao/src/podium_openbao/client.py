"""Logging in to OpenBao (or Vault) with hvac, and its errors in Podium's terms."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from podium.plugin import ConfigError, NotFoundError, ResourceError, TransientError
from podium_openbao.settings import Settings

if TYPE_CHECKING:
    import hvac

DEFAULT_ADDRESS = "http://127.0.0.1:8200"


def _first_env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class OpenBao:
    """One lazily logged-in hvac client for a platform's ``[plugins.openbao]``.

    hvac is imported on first use, so registering the plugin stays cheap. The
    login is shared by every store and provisioner of the platform.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: hvac.Client | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.settings.address or _first_env("BAO_ADDR", "VAULT_ADDR") or DEFAULT_ADDRESS

    def client(self) -> hvac.Client:
        with self._lock:
            if self._client is None:
                self._client = self._login()
            return self._client

    def _login(self) -> hvac.Client:
        import hvac

        s = self.settings
        client = hvac.Client(
            url=self.address, namespace=s.namespace, verify=s.verify, timeout=s.timeout
        )
        if s.auth == "token":
            token = s.token.get_secret_value() if s.token else None
            token = token or _first_env("BAO_TOKEN", "VAULT_TOKEN")
            if not token:
                raise ConfigError(
                    "podium-openbao has no token",
                    hint="set BAO_TOKEN (or [plugins.openbao] token, or auth = 'approle')",
                )
            client.token = token
        else:
            role_id = s.role_id or _first_env("BAO_ROLE_ID")
            secret = s.secret_id.get_secret_value() if s.secret_id else None
            secret = secret or _first_env("BAO_SECRET_ID")
            if not role_id or not secret:
                raise ConfigError(
                    "podium-openbao's AppRole login needs a role id and a secret id",
                    hint="set BAO_ROLE_ID and BAO_SECRET_ID (or role_id/secret_id settings)",
                )
            with errors("AppRole login"):
                client.auth.approle.login(
                    role_id=role_id, secret_id=secret, mount_point=s.approle_mount
                )
        return client

    @contextmanager
    def call(self, what: str) -> Iterator[hvac.Client]:
        """The client, with hvac's errors turned into Podium's, naming ``what``."""
        client = self.client()
        with errors(what):
            yield client


@contextmanager
def errors(what: str) -> Iterator[None]:
    """Map hvac and connection errors to Podium's errors.

    Messages name the operation and the server's status, never a request body: a
    body may carry a secret value, and hvac's own messages quote the response,
    which is kept out too.
    """
    import hvac.exceptions as bao
    import requests

    try:
        yield
    except bao.InvalidPath:
        raise NotFoundError(f"OpenBao: {what}: not found") from None
    except bao.Forbidden:
        raise ResourceError(
            f"OpenBao: {what}: permission denied",
            hint="the token's policies must allow this path (see podium-openbao's README)",
        ) from None
    except (bao.VaultDown, bao.InternalServerError, bao.BadGateway, bao.RateLimitExceeded):
        raise TransientError(f"OpenBao: {what}: the server is unavailable") from None
    except bao.VaultError as exc:
        raise ResourceError(f"OpenBao: {what}: refused ({_status(exc)})") from None
    except requests.RequestException as exc:
        raise TransientError(
            f"OpenBao: {what}: cannot reach the server ({type(exc).__name__})"
        ) from None


def _status(exc: Any) -> str:
    errors_list = getattr(exc, "errors", None)
    if isinstance(errors_list, list) and errors_list:
        # The server's own error strings name the problem, not values.
        return "; ".join(str(e) for e in errors_list)[:300]
    return type(exc).__name__
