"""The state key and StateCipher: key files, the environment key, sealing, wrong keys."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from podium.errors import StateError
from podium.security.crypto import (
    KEY_ENV,
    StateCipher,
    generate_key,
    is_sealed,
    load_state_cipher,
)
from podium.security.secret import Secret


def test_key_file_created_private_on_first_use_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "state" / "key"
    first = load_state_cipher(key_file, environ={})
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.source == str(key_file)
    token = first.encrypt("hello")
    again = load_state_cipher(key_file, environ={})
    assert again.decrypt(token) == "hello"
    assert [p.name for p in key_file.parent.iterdir()] == ["key"]  # no temp file left behind


def test_world_readable_key_refused_with_chmod_hint(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    load_state_cipher(key_file, environ={})
    key_file.chmod(0o644)
    with pytest.raises(StateError) as info:
        load_state_cipher(key_file, environ={})
    text = str(info.value)
    assert str(key_file) in text and "0644" in text
    assert f"chmod 600 {key_file}" in text
    key_file.chmod(0o640)
    with pytest.raises(StateError, match="other users"):
        load_state_cipher(key_file, environ={})


def test_env_key_wins_over_key_file(tmp_path: Path) -> None:
    key = generate_key()
    cipher = load_state_cipher(tmp_path / "key", environ={KEY_ENV: key})
    assert cipher.source == f"${KEY_ENV}"
    assert not (tmp_path / "key").exists()  # no file made when the env supplies the key
    assert StateCipher(key).decrypt(cipher.encrypt("x")) == "x"


def test_env_key_from_real_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    monkeypatch.setenv(KEY_ENV, key)
    assert load_state_cipher(tmp_path / "key").source == f"${KEY_ENV}"


def test_malformed_env_key(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"\$PODIUM_STATE_KEY is malformed") as info:
        load_state_cipher(tmp_path / "key", environ={KEY_ENV: "not-a-key"})
    assert "not-a-key" not in str(info.value)


def test_wrong_key_says_key_does_not_match_and_where_it_came_from(tmp_path: Path) -> None:
    token = StateCipher(generate_key()).encrypt("payload")
    other = load_state_cipher(tmp_path / "key", environ={})
    with pytest.raises(StateError) as info:
        other.decrypt(token)
    text = str(info.value)
    assert "does not match the state" in text and str(tmp_path / "key") in text
    from_env = load_state_cipher(tmp_path / "nokey", environ={KEY_ENV: generate_key()})
    with pytest.raises(StateError, match=r"from \$PODIUM_STATE_KEY does not match"):
        from_env.unseal({"pw": {"$secret": token}})


def test_seal_unseal_round_trip_nested() -> None:
    cipher = StateCipher(generate_key())
    value = {
        "host": "db",
        "port": 5432,
        "password": Secret("s3cret"),
        "replicas": [{"password": Secret("r1")}, "plain", 3, None],
        "tuple": (Secret("t"), 1),
        "flag": True,
    }
    sealed = cipher.seal(value)
    assert is_sealed(sealed["password"])
    assert is_sealed(sealed["replicas"][0]["password"])
    assert "s3cret" not in repr(sealed) and "r1" not in str(sealed["replicas"])
    back = cipher.unseal(sealed)
    assert back == {
        "host": "db",
        "port": 5432,
        "password": Secret("s3cret"),
        "replicas": [{"password": Secret("r1")}, "plain", 3, None],
        "tuple": [Secret("t"), 1],
        "flag": True,
    }
    assert isinstance(back["password"], Secret)
    # A dict that merely has a "$secret" key among others is data, not a sealed secret.
    assert cipher.unseal({"$secret": "x", "other": 1}) == {"$secret": "x", "other": 1}


def test_tokens_differ_per_encryption() -> None:
    cipher = StateCipher(generate_key())
    assert cipher.encrypt("same") != cipher.encrypt("same")


def test_fingerprint_detects_change_without_plaintext() -> None:
    key = generate_key()
    cipher = StateCipher(key)
    a = cipher.fingerprint(Secret("value-one"))
    assert a == StateCipher(key).fingerprint(Secret("value-one"))
    assert a != cipher.fingerprint(Secret("value-two"))
    assert a != StateCipher(generate_key()).fingerprint(Secret("value-one"))
    assert "value-one" not in a and len(a) == 32


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    code = (
        "import sys\n"
        "from podium.security.crypto import load_state_cipher\n"
        "c = load_state_cipher(sys.argv[1], environ={})\n"
        "print(c.encrypt('agreed'))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(key_file)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    tokens = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    cipher = load_state_cipher(key_file, environ={})
    assert [cipher.decrypt(t) for t in tokens] == ["agreed"] * 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_import_podium_does_not_import_cryptography() -> None:
    code = (
        "import sys, podium, podium.security.crypto, podium.security.local_store, podium.state\n"
        "print('cryptography' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "False"
