"""The built-in local secret store: CRUD, key validation, encryption at rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from podium.errors import InputError, NotFoundError, StateError
from podium.security.crypto import KEY_ENV, StateCipher, generate_key
from podium.security.local_store import LocalSecretStore
from podium.security.secret import Secret


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalSecretStore:
    monkeypatch.delenv(KEY_ENV, raising=False)
    return LocalSecretStore.in_state_dir(tmp_path / "state")


def test_crud_and_sorted_list(store: LocalSecretStore) -> None:
    assert store.name == "local"
    assert store.list() == []
    store.put("web/db-password", Secret("pw-1"))
    store.put("api_token", Secret("tok"))
    store.put("a.b-c", Secret(""))
    assert store.get("web/db-password") == Secret("pw-1")
    assert store.get("a.b-c").reveal() == ""
    assert store.list() == ["a.b-c", "api_token", "web/db-password"]
    store.put("web/db-password", Secret("pw-2"))
    assert store.get("web/db-password").reveal() == "pw-2"
    store.delete("api_token")
    store.delete("api_token")  # deleting a missing key succeeds
    assert store.list() == ["a.b-c", "web/db-password"]
    store.close()


def test_files_private_and_key_made_on_first_use(store: LocalSecretStore, tmp_path: Path) -> None:
    assert not (tmp_path / "state").exists()  # nothing touched before first use
    store.put("k", Secret("v"))
    assert stat.S_IMODE((tmp_path / "state" / "secrets.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state" / "key").stat().st_mode) == 0o600


def test_missing_key_is_not_found_without_leaking(store: LocalSecretStore) -> None:
    store.put("present", Secret("top-secret-value"))
    with pytest.raises(NotFoundError) as info:
        store.get("absent")
    text = str(info.value)
    assert "'absent'" in text
    assert "present" not in text and "top-secret-value" not in text


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../etc/passwd",
        "/abs",
        "a//b",
        "a/",
        "a/../b",
        ".hidden",
        "-x",
        "sp ace",
        "a\x00b",
        "trailing\n",
        7,
    ],
)
def test_bad_keys_refused(store: LocalSecretStore, key: object) -> None:
    with pytest.raises(InputError, match="invalid secret key"):
        store.put(key, Secret("x"))  # type: ignore[arg-type]
    with pytest.raises(InputError):
        store.get(key)  # type: ignore[arg-type]


def test_values_survive_reopen_and_need_the_key(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "secrets.db"
    first = LocalSecretStore(path, StateCipher(key))
    first.put("db", Secret("pw"))
    first.close()
    assert LocalSecretStore(path, StateCipher(key)).get("db").reveal() == "pw"
    with pytest.raises(StateError, match="does not match"):
        LocalSecretStore(path, StateCipher(generate_key())).get("db")


def test_token_swapped_between_keys_is_detected(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "secrets.db"
    store = LocalSecretStore(path, StateCipher(generate_key()))
    store.put("admin", Secret("admin-pw"))
    store.put("guest", Secret("guest-pw"))
    store.close()
    with sqlite3.connect(path) as raw:
        (token,) = raw.execute("SELECT token FROM secrets WHERE key = 'admin'").fetchone()
        raw.execute("UPDATE secrets SET token = ? WHERE key = 'guest'", (token,))
    with pytest.raises(StateError, match="tampered"):
        store.get("guest")


def test_planted_canary_never_in_raw_bytes(store: LocalSecretStore, tmp_path: Path) -> None:
    canary = "canary-5e1f0a77-never-on-disk"
    for i in range(20):
        store.put(f"svc{i}/password", Secret(f"{canary}-{i}"))
    store.put("plain", Secret(canary))
    assert store.get("plain").reveal() == canary

    def raw_files() -> list[Path]:
        return [p for p in (tmp_path / "state").rglob("*") if p.is_file()]

    assert any(p.name.endswith("-wal") for p in raw_files())
    for path in raw_files():
        assert canary.encode() not in path.read_bytes(), path
    store.close()  # checkpoints the WAL into the main file
    for path in raw_files():
        assert canary.encode() not in path.read_bytes(), path
