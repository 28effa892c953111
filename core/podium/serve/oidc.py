"""OIDC JWTs: signature against the issuer's JWKS, then iss, aud, exp and nbf (joserfc).

Keys come from ``jwks_file`` (read at start) or ``jwks_url`` (fetched on first use
and again when a token names a key id the cached set lacks, at most once a minute).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from podium.config.models import OidcIssuer
from podium.serve.identity import ROLES, AuthenticationError, Identity

_REFETCH_AFTER = 60.0
_FETCH_TIMEOUT = 10.0


class OidcVerifier:
    """Validates JWTs from the configured issuers."""

    def __init__(self, issuers: list[OidcIssuer], root: Path) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._root = root
        self._keys: dict[str, KeySet] = {}
        self._fetched: dict[str, float] = {}
        self._lock = threading.Lock()
        for issuer in issuers:
            if issuer.jwks_file is not None:
                path = Path(issuer.jwks_file)
                path = path if path.is_absolute() else root / path
                self._keys[issuer.issuer] = KeySet.import_key_set(json.loads(path.read_text()))

    def __bool__(self) -> bool:
        return bool(self._issuers)

    def verify(self, text: str) -> Identity:
        try:
            unverified = _claims_unverified(text)
        except (ValueError, KeyError) as exc:
            raise AuthenticationError("malformed token") from exc
        issuer = self._issuers.get(str(unverified.get("iss", "")))
        if issuer is None:
            raise AuthenticationError("token from an issuer this server does not trust")
        try:
            token = jwt.decode(text, self._key_set(issuer), algorithms=issuer.algorithms)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": issuer.issuer},
                aud={"essential": True, "value": issuer.audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise AuthenticationError(f"invalid token: {exc.__class__.__name__}") from exc
        claims = token.claims
        team, role = claims.get(issuer.team_claim), claims.get(issuer.role_claim)
        if not isinstance(team, str) or not team or role not in ROLES:
            raise AuthenticationError(
                f"token lacks a team ({issuer.team_claim}) or a known role ({issuer.role_claim})"
            )
        return Identity(f"oidc:{claims['sub']}", team, str(role))

    def _key_set(self, issuer: OidcIssuer) -> KeySet:
        with self._lock:
            keys = self._keys.get(issuer.issuer)
            stale = time.monotonic() - self._fetched.get(issuer.issuer, -_REFETCH_AFTER * 2)
            if issuer.jwks_url is not None and (keys is None or stale > _REFETCH_AFTER):
                with urllib.request.urlopen(issuer.jwks_url, timeout=_FETCH_TIMEOUT) as answer:
                    keys = KeySet.import_key_set(json.loads(answer.read()))
                self._keys[issuer.issuer] = keys
                self._fetched[issuer.issuer] = time.monotonic()
            if keys is None:
                raise AuthenticationError("no keys for this issuer")
            return keys


def _claims_unverified(text: str) -> dict[str, Any]:
    """The payload of a compact JWS, unverified: only to pick the issuer's keys."""
    import base64

    payload = text.split(".")[1]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if not isinstance(data, dict):
        raise ValueError("payload is not an object")
    return data
