"""OIDC JWTs against a real ``podium serve``: keys generated here, JWKS from a file or a URL."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, Served, plan, score
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

ISSUER = "https://issuer.test"
URL_ISSUER = "https://other-issuer.test"


def _token(key: RSAKey, issuer: str = ISSUER, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": issuer,
        "aud": "podium",
        "sub": "alice@example.test",
        "iat": now,
        "exp": now + 300,
        "podium_team": "payments",
        "podium_role": "developer",
        **claims,
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


@pytest.fixture
def keys() -> Iterator[tuple[RSAKey, RSAKey, str]]:
    """The file issuer's key, the URL issuer's key, and the URL serving its JWKS."""
    file_key = RSAKey.generate_key(2048, parameters={"kid": "file-key"})
    url_key = RSAKey.generate_key(2048, parameters={"kid": "url-key"})
    document = json.dumps(KeySet([url_key]).as_dict(private=False)).encode()

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield file_key, url_key, f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json"
    finally:
        httpd.shutdown()


def test_jwts_from_configured_issuers(tmp_path: Path, keys: tuple[RSAKey, RSAKey, str]) -> None:
    file_key, url_key, url = keys
    extra = f"""
[[serve.oidc]]
issuer = "{ISSUER}"
audience = "podium"
jwks_file = "jwks.json"

[[serve.oidc]]
issuer = "{URL_ISSUER}"
audience = "podium"
jwks_url = "{url}"
"""
    project = Project(tmp_path / "platform", extra_config=extra)
    (project.root / "jwks.json").write_text(json.dumps(KeySet([file_key]).as_dict(private=False)))
    served = Served(project)
    try:
        good = served.client(_token(file_key))
        assert good.get("/whoami").json()["subject"] == "oidc:alice@example.test"
        assert plan(good, "dev", score("web")).status_code == 201
        from_url = served.client(_token(url_key, URL_ISSUER, podium_role="viewer"))
        assert from_url.get("/whoami").json()["role"] == "viewer"
        assert plan(from_url, "dev", score("web")).status_code == 403

        stranger = RSAKey.generate_key(2048, parameters={"kid": "file-key"})
        now = int(time.time())
        for bad in (
            _token(file_key, exp=now - 10),  # expired
            _token(file_key, aud="someone-else"),
            _token(file_key, issuer="https://unknown.test"),
            _token(stranger),  # signed by another key under the same kid
            _token(url_key),  # a key of the other issuer
            _token(file_key, podium_role="owner"),  # no known role
            _token(file_key)[:-4] + "AAAA",  # tampered signature
            "a.b.c",
        ):
            answer = served.client(bad).get("/whoami")
            assert answer.status_code == 401, (answer.status_code, answer.text)
    finally:
        served.stop()
