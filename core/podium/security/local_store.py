"""The built-in ``local`` secret store: Fernet-encrypted values in a private SQLite file.

One store per platform, by default ``<root state_dir>/secrets.db`` (mode 0600).
Each value is encrypted together with its key, so a token copied onto another
key's row fails to decrypt instead of silently answering with the wrong secret.
"""

from __future__ import annotations

import builtins
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from podium.errors import InputError, NotFoundError, StateError
from podium.security.contract import SecretStore, SecretVersion
from podium.security.crypto import KEY_FILE_NAME, StateCipher, load_state_cipher
from podium.security.key_check import (
    KeyLoader,
    load_existing_key,
    mismatch,
    opens,
    opens_any,
    seal_check,
)
from podium.security.secret import Secret
from podium.state import database_file

SECRETS_FILE_NAME = "secrets.db"

# Words of letters, digits, '.', '_' and '-' joined by single '/': no absolute
# paths, no '..', no empty segments, nothing a file- or URL-based store would
# interpret as a path trick.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_KEY = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT})*$")
MAX_KEY_LENGTH = 255
_KEY_CHECK = "key_check"  # the meta row holding the store's key check token


def validate_secret_key(key: object) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
        raise InputError(
            f"invalid secret key {key!r}: use letters, digits, '.', '_' and '-' in words "
            f"joined by '/', not starting with '.' or '-', at most {MAX_KEY_LENGTH} characters",
            field="key",
        )
    if any(part in (".", "..") for part in key.split("/")):
        raise InputError(f"invalid secret key {key!r}: '.' and '..' are not allowed", field="key")
    return key


class LocalSecretStore(SecretStore):
    """Secrets kept on this machine, encrypted with the platform's state key.

    ``cipher`` may be a :class:`StateCipher` or a function returning one, so the
    key is loaded (and ``cryptography`` imported) only when a secret is used.
    """

    name: ClassVar[str] = "local"

    def __init__(
        self,
        path: Path | str,
        cipher: StateCipher | Callable[[], StateCipher] | None = None,
        *,
        load_key: KeyLoader | None = None,
    ) -> None:
        """``load_key(create)`` may replace ``cipher``: then a key file is only ever created
        for a store that holds nothing yet (a lost key file is an error, never a new key)."""
        if (cipher is None) == (load_key is None):
            raise TypeError("give exactly one of cipher and load_key")
        self.path = Path(path)
        self._cipher_source = cipher
        self._load_key = load_key
        self._given: StateCipher | None = cipher if isinstance(cipher, StateCipher) else None
        self._cipher: StateCipher | None = None
        self._mutex = threading.RLock()
        self._db: sqlite3.Connection | None = None

    @classmethod
    def in_state_dir(
        cls, state_dir: Path | str, *, key_file: Path | str | None = None
    ) -> LocalSecretStore:
        """The store at ``<state_dir>/secrets.db``, keyed by the state key."""
        root = Path(state_dir)
        key_path = Path(key_file) if key_file is not None else root / KEY_FILE_NAME
        return cls(
            root / SECRETS_FILE_NAME,
            load_key=lambda create: load_state_cipher(key_path, create=create),
        )

    # --- SecretStore ---------------------------------------------------------
    scoped: ClassVar[bool] = True

    def get(self, key: str) -> Secret:
        return self.get_in(key, None)

    def put(self, key: str, value: Secret) -> None:
        self.put_in(key, value, None)

    def delete(self, key: str) -> None:
        self.delete_in(key, None)

    def list(self) -> list[str]:
        return [entry.key for entry in self.versions(None)]

    def get_in(self, key: str, env: str | None) -> Secret:
        validate_secret_key(key)
        table, where, args = _scope(key, env)
        with self._tx(write=False) as db:
            row = db.execute(f"SELECT token FROM {table} WHERE {where}", args).fetchone()
        if row is None:
            scope = "platform-wide" if env is None else f"for environment {env!r}"
            raise NotFoundError(
                f"no secret {key!r} {scope} in the local secret store",
                hint="list keys with 'podium secrets list'; set one with 'podium secrets set'",
            )
        return Secret(self._open_token(key, str(row[0]), env))

    def put_in(self, key: str, value: Secret, env: str | None) -> int:
        validate_secret_key(key)
        if env is not None:
            validate_secret_key(env)
        if not isinstance(value, Secret):
            value = Secret(value)
        bound: dict[str, str] = {"k": key, "v": value.reveal()}
        if env is not None:
            bound["e"] = env  # a token copied to another environment's row fails to open
        token = self.cipher.encrypt(json.dumps(bound))
        table, where, args = _scope(key, env)
        with self._tx(write=True) as db:
            # Versions only grow, also across a delete: a plan compares them with the
            # version a deployment was rendered with, so a reused number would hide a change.
            row = db.execute(
                "SELECT version FROM secret_versions WHERE scope = ? AND key = ?",
                (env or "", key),
            ).fetchone()
            stored = db.execute(f"SELECT version FROM {table} WHERE {where}", args).fetchone()
            version = max(int(row[0]) if row else 0, int(stored[0]) if stored else 0) + 1
            db.execute(
                "INSERT OR REPLACE INTO secret_versions (scope, key, version) VALUES (?, ?, ?)",
                (env or "", key, version),
            )
            if env is None:
                db.execute(
                    "INSERT OR REPLACE INTO secrets (key, token, version) VALUES (?, ?, ?)",
                    (key, token, version),
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO env_secrets (env, key, token, version) "
                    "VALUES (?, ?, ?, ?)",
                    (env, key, token, version),
                )
        return version

    def delete_in(self, key: str, env: str | None) -> None:
        validate_secret_key(key)
        table, where, args = _scope(key, env)
        with self._tx(write=True) as db:
            db.execute(f"DELETE FROM {table} WHERE {where}", args)

    def versions(self, env: str | None) -> builtins.list[SecretVersion]:
        with self._tx(write=False) as db:
            if env is None:
                rows = db.execute("SELECT key, version FROM secrets ORDER BY key").fetchall()
            else:
                rows = db.execute(
                    "SELECT key, version FROM env_secrets WHERE env = ? ORDER BY key", (env,)
                ).fetchall()
        return [SecretVersion(str(key), int(version), env) for key, version in rows]

    def reseal(self, reseal: Callable[[str], str]) -> int:
        """Re-seal every token (secrets and the key check) in one transaction (``podium
        state rekey``); returns how many changed. A store file that does not exist stays so."""
        with self._mutex:
            if self._db is None and not self.path.exists():
                return 0
            changed = 0
            with self._tx(write=True) as db:
                for table, keys in (("secrets", "key"), ("env_secrets", "env, key")):
                    rows = db.execute(f"SELECT {keys}, token FROM {table}").fetchall()
                    where = " AND ".join(f"{k.strip()} = ?" for k in keys.split(","))
                    for row in rows:
                        token = reseal(str(row[-1]))
                        if token != row[-1]:
                            db.execute(
                                f"UPDATE {table} SET token = ? WHERE {where}", (token, *row[:-1])
                            )
                            changed += 1
                check = db.execute("SELECT value FROM meta WHERE key = ?", (_KEY_CHECK,)).fetchone()
                if check is not None:
                    resealed = reseal(str(check[0]))
                    if resealed != check[0]:
                        db.execute(
                            "UPDATE meta SET value = ? WHERE key = ?", (resealed, _KEY_CHECK)
                        )
                        changed += 1
            self._cipher = None  # the key in use changes with the rekey: bind it again
            return changed

    def close(self) -> None:
        with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None

    # --- internals -----------------------------------------------------------
    @property
    def cipher(self) -> StateCipher:
        """The state key, checked against the store's key check before its first use."""
        cipher = self._cipher
        if cipher is None:
            # Not under the mutex: loading the key may take the platform's lock, whose
            # holder may be asking this store whether it holds data.
            cipher = self._bind_key()
            with self._mutex:
                self._cipher = self._cipher or cipher
        return cipher

    def holds_data(self) -> bool:
        """Whether the store file exists and holds a secret or a key check (never creates it)."""
        with self._mutex:
            if self._db is None and not self.path.exists():
                return False
            with self._tx(write=False) as db:
                return bool(
                    db.execute("SELECT 1 FROM secrets").fetchone()
                    or db.execute("SELECT 1 FROM env_secrets").fetchone()
                    or db.execute("SELECT 1 FROM meta WHERE key = ?", (_KEY_CHECK,)).fetchone()
                )

    def _bind_key(self) -> StateCipher:
        where = f"the secret store {self.path}"
        with self._tx(write=False) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (_KEY_CHECK,)).fetchone()
            sample = db.execute(
                "SELECT token FROM secrets UNION ALL SELECT token FROM env_secrets LIMIT 1"
            ).fetchone()
        existing = row is not None or sample is not None
        if self._given is not None:
            cipher = self._given
        elif self._load_key is not None:
            load_key = self._load_key
            cipher = load_existing_key(load_key, where) if existing else load_key(True)
        else:
            source = self._cipher_source
            assert callable(source)
            cipher = source()
        if row is not None:
            if not opens(cipher, str(row[0])):
                raise mismatch(cipher, where)
            return cipher
        # No check yet: a new store, or one written before key checks (migrated here).
        if sample is not None and not opens_any(cipher, str(sample[0])):
            raise mismatch(cipher, where)
        with self._tx(write=True) as db:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                (_KEY_CHECK, seal_check(cipher)),
            )
        return cipher

    def _open_token(self, key: str, token: str, env: str | None = None) -> str:
        data = json.loads(self.cipher.decrypt(token))
        if (
            not isinstance(data, dict)
            or data.get("k") != key
            or data.get("e") != env
            or not isinstance(data.get("v"), str)
        ):
            raise StateError(
                f"secret {key!r} in {self.path} was not stored under that key; "
                "the secret store has been tampered with"
            )
        return str(data["v"])

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            # Created complete and private (0600; its -wal and -shm files take that
            # mode), or checked: an empty or foreign file is damage, not a new store.
            database_file.open_existing(self.path, _create_tables, database_file.SECRET_STORE)
            db = database_file.connect(self.path, 30.0)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")  # few, precious writes: pay for the fsync
            _create_tables(db)  # a store made before the meta table existed gets it here
            self._db = db
        return self._db

    @contextmanager
    def _tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            try:
                db = self._connection()
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                if type(exc) is sqlite3.DatabaseError:  # "not a database", "malformed"
                    raise database_file.damaged(
                        self.path, str(exc), database_file.SECRET_STORE
                    ) from None
                raise StateError(f"local secret store {self.path}: {exc}") from None


def _scope(key: str, env: str | None) -> tuple[str, str, tuple[str, ...]]:
    """The table and row of ``key`` in a scope: platform-wide rows stay in ``secrets``,
    where stores written before environments existed keep them."""
    if env is None:
        return "secrets", "key = ?", (key,)
    return "env_secrets", "env = ? AND key = ?", (env, key)


def _create_tables(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS secrets "
        "(key TEXT PRIMARY KEY, token TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1)"
    )
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(secrets)")}
    if "version" not in columns:  # a store made before versions: its secrets are version 1
        try:
            db.execute("ALTER TABLE secrets ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
        except sqlite3.OperationalError as exc:  # another process migrated it first
            if "duplicate column" not in str(exc):
                raise
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS env_secrets (env TEXT NOT NULL, key TEXT NOT NULL, "
        "token TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (env, key))"
    )
    # The highest version each (scope, key) has had, kept after a delete ('' = platform-wide).
    db.execute(
        "CREATE TABLE IF NOT EXISTS secret_versions (scope TEXT NOT NULL, key TEXT NOT NULL, "
        "version INTEGER NOT NULL, PRIMARY KEY (scope, key))"
    )
