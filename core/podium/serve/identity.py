"""Who calls the API: opaque bearer tokens (``podium tokens``) and OIDC JWTs.

A token is ``pdm_<id>_<secret>``: the id names it in ``tokens list``/``revoke`` and
history, the 256-bit secret is shown once and stored only as its SHA-256 digest
(a digest of a random value needs no slow hash: nothing to guess). A JWT is checked
by :mod:`podium.serve.oidc`. Either way the caller becomes an :class:`Identity`:
its team is the owner it acts for (:mod:`podium.identity`), its role one of
:data:`ROLES`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from podium.errors import InputError
from podium.serve.store import ServerStore, TokenRow, now

ROLES = ("viewer", "developer", "admin")
#: what a token may be granted beyond its role
PERMISSIONS = ("reveal-secrets",)
TOKEN_PREFIX = "pdm_"


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: ``subject`` is what history records as who."""

    subject: str
    team: str
    role: str
    permissions: frozenset[str] = frozenset()

    def at_least(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def may(self, permission: str) -> bool:
        return permission in self.permissions


class AuthenticationError(Exception):
    """Unknown, revoked, expired or malformed credentials (HTTP 401)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}", field="role", hint="viewer, developer or admin")
    return role


def create_token(
    store: ServerStore,
    *,
    team: str,
    role: str,
    created_by: str,
    permissions: tuple[str, ...] = (),
    ttl_days: float | None = None,
) -> tuple[str, TokenRow]:
    """Store a new token for ``team`` with ``role``; returns the token text (shown once) and
    its row."""
    from podium.platform.context import validate_name

    check_role(role)
    try:
        validate_name(team, "team")
    except ValueError as exc:
        raise InputError(str(exc), field="team") from None
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise InputError(
            f"unknown permission {unknown[0]!r}", field="permission", hint=", ".join(PERMISSIONS)
        )
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    expires = (
        (datetime.now(UTC) + timedelta(days=ttl_days)).isoformat() if ttl_days is not None else None
    )
    row = TokenRow(
        id=token_id,
        digest=_digest(secret),
        team=team,
        role=role,
        permissions=sorted(set(permissions)),
        created_by=created_by,
        created_at=now(),
        expires_at=expires,
        revoked_at=None,
    )
    store.add_token(row)
    return f"{TOKEN_PREFIX}{token_id}_{secret}", row


def verify_token(store: ServerStore, text: str) -> Identity:
    """The identity of API token ``text``; :class:`AuthenticationError` unless it is known,
    unrevoked and unexpired (the same message for each: no oracle)."""
    refused = AuthenticationError("unknown, revoked or expired token")
    if not text.startswith(TOKEN_PREFIX) or text.count("_") < 2:
        raise refused
    token_id, _, secret = text[len(TOKEN_PREFIX) :].partition("_")
    row = store.token(token_id)
    if row is None or not hmac.compare_digest(row.digest, _digest(secret)):
        raise refused
    if row.revoked_at is not None:
        raise refused
    if row.expires_at is not None and datetime.fromisoformat(row.expires_at) <= datetime.now(UTC):
        raise refused
    return Identity(f"token:{row.id}", row.team, row.role, frozenset(row.permissions))


__all__ = [
    "PERMISSIONS",
    "ROLES",
    "AuthenticationError",
    "Identity",
    "check_role",
    "create_token",
    "verify_token",
]
