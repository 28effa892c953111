"""Credentials in ``[plugins.openbao]`` are secrets: never printed, not even in errors.

A canary token (a real token OpenBao accepts, whose id is the canary) and a canary
AppRole secret id are written into ``podium.toml``; ``plugins info``, ``doctor`` and
the error of a failed login must not print them. A workload may not name KV paths.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from conftest import Bao
from project import Project, assert_absent


def test_settings_credentials_never_printed(tmp_path: Path, bao: Bao) -> None:
    token = "canary-token-" + uuid.uuid4().hex
    bao.client().auth.token.create(id=token, policies=["root"], ttl="1h")
    project = Project(tmp_path / "ok", bao, openbao=f'token = "{token}"')
    project.podium("secrets", "set", "k", "--value", "v", BAO_TOKEN="")
    assert project.podium("secrets", "get", "k", "--reveal", BAO_TOKEN="").stdout.strip() == "v"
    info = project.podium("plugins", "info", "openbao", BAO_TOKEN="")
    assert "token" in info.stdout and "**" in info.stdout
    project.podium("--json", "plugins", "info", "openbao", BAO_TOKEN="")
    project.podium("doctor", BAO_TOKEN="", check=False)
    project.podium("--debug", "doctor", BAO_TOKEN="", check=False)

    wrong = "canary-wrong-" + uuid.uuid4().hex
    secret_id = "canary-secret-id-" + uuid.uuid4().hex
    refused = Project(tmp_path / "wrong", bao, openbao=f'token = "{wrong}"')
    failed = refused.podium("--debug", "secrets", "list", BAO_TOKEN="", check=False)
    assert failed.returncode != 0 and "permission denied" in failed.stderr
    approle = Project(
        tmp_path / "approle",
        bao,
        openbao=f'auth = "approle"\nrole_id = "nobody"\nsecret_id = "{secret_id}"',
    )
    failed = approle.podium("--debug", "secrets", "list", BAO_TOKEN="", check=False)
    assert failed.returncode != 0 and "AppRole" in failed.stderr
    # A settings error quotes the bad field's input, never the credentials beside it.
    typo = Project(tmp_path / "typo", bao, openbao=f'token = "{wrong}"\nmount = "../escape"')
    failed = typo.podium("doctor", BAO_TOKEN="", check=False)
    assert failed.returncode != 0 and "mount" in (failed.stdout + failed.stderr)
    texts = {
        **project.printed,
        **refused.printed,
        **approle.printed,
        **typo.printed,
        **project.files(),
        **refused.files(),
    }
    assert_absent([token, wrong, secret_id], texts)


def test_workload_cannot_name_a_kv_path(tmp_path: Path, bao: Bao) -> None:
    project = Project(tmp_path / "p", bao)
    project.write(
        "sneaky.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: sneaky\ncontainers:\n"
        "  main:\n    image: busybox:1\n    command: ['sleep', '60']\n"
        "resources:\n  loot:\n    type: secret\n    params:\n      path: shared/other/payments\n",
    )
    refused = project.podium("validate", "-f", "sneaky.score.yaml", check=False)
    assert refused.returncode != 0
    assert "path" in refused.stdout + refused.stderr
