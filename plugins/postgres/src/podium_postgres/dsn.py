"""Connection strings: parse them, say where they point, and show them without the password.

A DSN is a credential as soon as it holds a password, so settings keep it as
:class:`Dsn` (a pydantic ``Secret``): ``str()``, ``repr()``, ``model_dump(mode="json")``
and Podium's ``redact`` all show :func:`mask_dsn`'s form, and only
``get_secret_value()`` returns the real string, for libpq.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Secret

from podium.plugin import ConfigError

#: What a masked credential reads as.
MASK = "***"
#: libpq parameters that hold credentials (``password``, and the key file's passphrase).
CREDENTIAL_KEYS = frozenset({"password", "sslpassword"})
_URI_SCHEMES = ("postgresql://", "postgres://")


def dsn_params(dsn: str) -> dict[str, str]:
    """The DSN's parameters; ConfigError (quoting nothing of it) when it does not parse."""
    from psycopg import conninfo

    try:
        return {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items() if v is not None}
    except Exception:
        # libpq's message may quote the DSN, password included: say it without it.
        raise ConfigError(
            "the dsn is not a valid PostgreSQL connection string or URI",
            field="state.options.dsn",
            hint="e.g. postgresql://user@host:5432/dbname or 'host=... dbname=...'",
        ) from None


def describe_dsn(dsn: str) -> str:
    """``postgresql://host:port/dbname``: where the state is, safe to print (no user, no password)."""
    params = dsn_params(dsn)
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or ""
    return f"postgresql://{host}:{port}/{dbname}"


def mask_dsn(dsn: str) -> str:
    """``dsn`` with every credential replaced by ``***``; the rest (user, host, options) kept.

    A URI keeps its form (``postgresql://user:***@host/db``); a ``key=value``
    string is rebuilt with its credentials masked. What cannot be parsed is
    shown as ``***`` whole: it might be nothing but a password.
    """
    if dsn.startswith(_URI_SCHEMES):
        return _mask_uri(dsn)
    from psycopg import conninfo

    try:
        params = conninfo.conninfo_to_dict(dsn)
    except Exception:
        return MASK
    if not CREDENTIAL_KEYS & params.keys():
        return dsn
    masked = {k: (MASK if k in CREDENTIAL_KEYS else v) for k, v in params.items()}
    return conninfo.make_conninfo("", **masked)


def _mask_uri(dsn: str) -> str:
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return MASK
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    netloc = f"{user}{':' + MASK if colon else ''}{at}{hosts}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key in CREDENTIAL_KEYS for key, _ in query):
        masked = [(k, MASK if k in CREDENTIAL_KEYS else v) for k, v in query]
        query_text = urlencode(masked, safe="*")
    else:
        query_text = parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query_text, parts.fragment))


class Dsn(Secret[str]):
    """A libpq connection string held as a secret: it shows as :func:`mask_dsn` says."""

    def _display(self) -> str:
        return mask_dsn(self.get_secret_value())


__all__ = ["CREDENTIAL_KEYS", "MASK", "Dsn", "describe_dsn", "dsn_params", "mask_dsn"]
