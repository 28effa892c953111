"""openbao-secret's value is live: read from OpenBao at each deploy, never kept in state.

A podium-local process gets two secrets (one set with ``podium secrets set``, one a
rule reads from a KV path). After ``podium up`` neither value is in any file under
the project (state database and WAL included), nor in any sealed token there once
decrypted with the state key: releases and history hold references, records a keyed
fingerprint. Changing both in OpenBao, ``plan --refresh`` plans the redeploy, and the
new process gets the new values; rolling back to release 1 gives it the current
values OpenBao holds at that moment (a rollback reads it again).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from conftest import Bao
from project import Project, digest, wait_for_text

from podium.plugin import StateCipher


def _wait_for(seen: Path, *values: str) -> None:
    wanted = [digest(v) for v in values]
    wait_for_text(
        seen, "the workload never got the expected values", lambda text: text.split() == wanted
    )


def _assert_not_in_state(project: Project, values: list[str]) -> None:
    """No value in any file Podium wrote, nor in any sealed token there, decrypted."""
    files = project.files()
    assert any(name.endswith("state.db") for name in files)
    cipher = StateCipher((project.root / ".podium" / "key").read_bytes().strip())
    texts = [data.decode("latin-1") for data in files.values()]
    tokens = {t for text in texts for t in re.findall(r'"\$secret":\s*"([^"]+)"', text)}
    assert tokens, "no sealed token found: the scan would prove nothing"
    opened = [cipher.decrypt(token) for token in tokens]
    for value in values:
        for name, text in zip(files, texts, strict=True):
            assert value not in text, f"a secret value is in {name}"
        assert not any(value in text for text in opened), "a sealed token holds a secret value"


def test_openbao_secret_values_are_read_at_deploy_and_never_stored(
    tmp_path: Path, bao: Bao
) -> None:
    name = "live" + uuid.uuid4().hex[:6]
    project = Project(tmp_path / "platform", bao, name=name)
    seen = tmp_path / "seen.txt"
    project.write_secret_digests_app("app/live", seen)
    client = bao.client()

    def set_values(tag: str) -> tuple[str, str]:
        stored, payments = (
            f"bao-{tag}-stored-{uuid.uuid4().hex}",
            f"bao-{tag}-pay-{uuid.uuid4().hex}",
        )
        project.podium("secrets", "set", "app/live", stdin=stored)
        client.secrets.kv.v2.create_or_update_secret(
            path=f"shared/{name}/payments", secret={"api_key": payments}, mount_point="secret"
        )
        return stored, payments

    first = set_values("first")
    try:
        project.podium("up", "-f", "app.score.yaml")
        _wait_for(seen, *first)
        _assert_not_in_state(project, list(first))

        second = set_values("second")
        plan = project.json("plan", "-f", "app.score.yaml", "--refresh")
        actions = {change["uid"]: change["action"] for change in plan["changes"]}
        assert actions.get("deployment:app") == "update", actions
        assert actions.get("secret.default#app.stored") == "update", actions
        assert actions.get("secret.payments#app.pay") == "update", actions
        project.podium("plan", "-f", "app.score.yaml", "--refresh", "--out", "plan.json")
        project.podium("apply", "plan.json")
        _wait_for(seen, *second)

        # Release 1 ran with the first values; rolling back to it reads OpenBao again,
        # so the process gets the values OpenBao holds now (rotated once more).
        third = set_values("third")
        project.podium("rollback", "app", "--to", "1")
        _wait_for(seen, *third)
        history = json.dumps(project.json("history"))
        assert "rollback" in history
        _assert_not_in_state(project, [*first, *second, *third])
    finally:
        project.podium("destroy", "--yes", check=False)
