"""podium.api.Platform with its state in PostgreSQL: apply, plan, destroy, with a tiny plugin.

The tiny plugin keeps its "cloud" in a dict, so the test compares state with reality.
The DSN comes from ``PODIUM_PLUGIN_POSTGRES_DSN`` (the core's settings mechanism),
the schema from ``[state] options``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from podium.plugin import (
    Deployer,
    DeploymentResult,
    LogLine,
    Platform,
    Provisioner,
    ResourceContext,
    Secret,
    WorkloadStatus,
    generate_key,
    hookimpl,
)

CANARY = "canary-e2e-Pw9-never-in-postgres"

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1
    variables:
      BUCKET: ${resources.media.name}
      TOKEN: ${resources.media.token}
      GREETING: hello
resources:
  media:
    type: bucket
"""


class TinyCloud:
    """What exists "out there": buckets by name and deployed workloads by name."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, Any]] = {}
        self.deployed: dict[str, dict[str, Any]] = {}


class BucketProvisioner(Provisioner):
    name: ClassVar[str] = "tiny-bucket"
    resource_type: ClassVar[str] = "bucket"
    secret_outputs: ClassVar[frozenset[str]] = frozenset({"token"})

    def __init__(self, cloud: TinyCloud) -> None:
        self.cloud = cloud

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        self.cloud.buckets[ctx.physical_name] = dict(ctx.params)
        return {"name": ctx.physical_name, "token": Secret(CANARY)}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        if ctx.physical_name not in self.cloud.buckets:
            return None
        return {"name": ctx.physical_name, "token": Secret(CANARY)}

    def delete(self, ctx: ResourceContext) -> None:
        self.cloud.buckets.pop(ctx.physical_name, None)


class DictDeployer(Deployer):
    name: ClassVar[str] = "tiny-deployer"

    def __init__(self, cloud: TinyCloud) -> None:
        self.cloud = cloud

    def deploy(self, ctx: Any, workload: Any) -> DeploymentResult:
        container = workload.containers["main"]
        self.cloud.deployed[ctx.workload] = {"release": ctx.release, "vars": container.variables}
        return DeploymentResult(message="stored")

    def status(self, ctx: Any) -> WorkloadStatus:
        state = "ready" if ctx.workload in self.cloud.deployed else "absent"
        return WorkloadStatus(workload=ctx.workload, state=state)

    def logs(
        self,
        ctx: Any,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        yield LogLine(container or "main", "hello")

    def destroy(self, ctx: Any) -> None:
        self.cloud.deployed.pop(ctx.workload, None)


class TinyPlugin:
    PODIUM_API = ">=1.0,<2"

    def __init__(self, cloud: TinyCloud) -> None:
        self.cloud = cloud

    @hookimpl
    def podium_provisioners(self) -> list[Provisioner]:
        return [BucketProvisioner(self.cloud)]

    @hookimpl
    def podium_deployers(self) -> list[Deployer]:
        return [DictDeployer(self.cloud)]


def make_platform(tmp_path: Path, schema: str, cloud: TinyCloud) -> Platform:
    # podium-postgres loads through its installed entry point, as it would for a user.
    config = {
        "platform": {"name": "shop"},
        "plugins": {"allow": ["postgres"]},
        "environments": {"prod": {"deployer": "tiny-deployer"}},
        "rules": [{"type": "bucket", "provisioner": "tiny-bucket"}],
        "state": {"backend": "postgres", "options": {"schema": schema}},
    }
    return Platform(
        config,
        root=tmp_path,
        plugins=[("tiny", TinyPlugin(cloud))],
        load_entrypoints=True,
        strict_plugins=True,
    )


def test_apply_plan_destroy_with_state_in_postgres(
    tmp_path: Path, dsn: str, schema: str, sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_PLUGIN_POSTGRES_DSN", dsn)
    # A team shares the state key too: secrets in shared state are sealed with it.
    monkeypatch.setenv("PODIUM_STATE_KEY", generate_key())
    score = tmp_path / "web.score.yaml"
    score.write_text(SCORE)
    cloud = TinyCloud()
    with make_platform(tmp_path, schema, cloud) as platform:
        loaded = {p.name: p for p in platform.plugins.plugins}["postgres"]
        assert (loaded.status, loaded.distribution) == ("loaded", "podium-postgres")
        plan = platform.plan("prod", [score])
        assert {c.uid: c.action for c in plan.changes} == {
            "bucket.default#web.media": "create",
            "deployment:web": "create",
        }
        result = platform.apply(plan)
        assert result.ok, result.to_dict()
        [bucket] = cloud.buckets
        assert cloud.deployed["web"]["vars"]["BUCKET"] == bucket
        assert not list(tmp_path.rglob("state.db"))  # no SQLite: the state is in PostgreSQL

    # The rows are in PostgreSQL, keyed by platform and environment, secrets sealed.
    rows = sql(f'SELECT platform, environment, uid, owner FROM "{schema}".records ORDER BY uid')
    assert rows == [  # owned by the Score file's directory, relative to the platform root
        ("shop", "prod", "bucket.default#web.media", "."),
        ("shop", "prod", "deployment:web", "."),
    ]
    for table in ("records", "intents", "generated", "history", "releases"):
        for (text,) in sql(f'SELECT t::text FROM "{schema}".{table} t'):
            assert CANARY not in text, f"plaintext secret in {table}"
    assert sql(f'SELECT count(*) FROM "{schema}".intents WHERE completed_at IS NULL') == [(0,)]
    assert sql(f'SELECT count(*) FROM "{schema}".locks') == [(0,)]  # released after apply

    # A new Platform (another machine, same database, its own checkout) sees the state:
    # nothing to do, and the same owner, as the file is at the same place in the checkout.
    checkout = tmp_path / "elsewhere"
    checkout.mkdir()
    score = checkout / "web.score.yaml"
    score.write_text(SCORE)
    with make_platform(checkout, schema, cloud) as platform:
        again = platform.plan("prod", [score])
        assert not again.has_changes
        outputs = platform.outputs("prod", show_secrets=True)
        assert any(CANARY in str(values) for values in outputs.values())

        score.write_text(SCORE.replace("GREETING: hello", "GREETING: bonjour"))
        update = platform.plan("prod", [score])
        assert {c.uid: c.action for c in update.changes if c.action != "no-op"} == {
            "deployment:web": "update"
        }
        assert platform.apply(update).ok
        assert cloud.deployed["web"]["release"] == 2
        assert [r["number"] for r in platform.store("prod").releases("web")] == [1, 2]

        plan, result = platform.destroy("prod")
        assert result.ok
        assert cloud.buckets == {} and cloud.deployed == {}
        assert platform.store("prod").records() == []
        history = platform.history("prod")
        runs = [h for h in history if h.get("kind", "run") == "run"]
        assert [h["operation"] for h in runs] == ["destroy", "apply", "apply"]
        assert all(h["status"] == "succeeded" for h in runs)
        # showing the secrets above is in the audit trail too (which nodes, never values)
        [reveal] = [h for h in history if h.get("kind") == "reveal"]
        assert CANARY not in str(reveal)


def test_a_machine_with_another_state_key_is_refused_before_creating_anything(
    tmp_path: Path, dsn: str, schema: str, sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium.plugin import StateError

    monkeypatch.setenv("PODIUM_PLUGIN_POSTGRES_DSN", dsn)
    monkeypatch.setenv("PODIUM_STATE_KEY", generate_key())
    score = tmp_path / "web.score.yaml"
    score.write_text(SCORE)
    cloud = TinyCloud()
    with make_platform(tmp_path, schema, cloud) as platform:
        assert platform.up("prod", [score])[1].ok
    check = f"SELECT count(*) FROM \"{schema}\".generated WHERE node = 'podium:key-check'"
    assert sql(check) == [(1,)]  # the core's key check, kept like any generated value
    buckets = dict(cloud.buckets)

    monkeypatch.setenv("PODIUM_STATE_KEY", generate_key())  # another machine, another key
    elsewhere = tmp_path / "elsewhere"  # its checkout, with the same layout (same owner)
    elsewhere.mkdir()
    score = elsewhere / "web.score.yaml"
    score.write_text(SCORE + "  archive:\n    type: bucket\n")  # a new bucket to create
    with (
        make_platform(elsewhere, schema, cloud) as platform,
        pytest.raises(
            StateError, match=r"\$PODIUM_STATE_KEY does not match the state of shop/prod"
        ),
    ):
        platform.up("prod", [score])
    assert cloud.buckets == buckets
    assert sql(f'SELECT count(DISTINCT entry_id) FROM "{schema}".history') == [(1,)]


#: A rekey of the PostgreSQL state in a child process that SIGKILLs itself at the Nth
#: re-sealed value (the environment's transaction is then rolled back by the server).
REKEY_KILLER = """\
import json, os, signal, sys
from podium.plugin import Platform, StateCipher

config, nth = json.loads(sys.argv[1]), int(sys.argv[2])
original = StateCipher.reseal
calls = [0]
def reseal(self, token):
    calls[0] += 1
    if calls[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, token)
StateCipher.reseal = reseal
with Platform(config, root=sys.argv[3], load_entrypoints=True, strict_plugins=True) as platform:
    platform.rekey(on_step=lambda step: step == sys.argv[4] and os.kill(os.getpid(), 9))
"""


def test_rekey_reseals_postgres_state_and_survives_sigkill(
    tmp_path: Path, dsn: str, schema: str, sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import json
    import re
    import signal
    import subprocess
    import sys

    from cryptography.fernet import Fernet, InvalidToken

    monkeypatch.setenv("PODIUM_PLUGIN_POSTGRES_DSN", dsn)
    monkeypatch.delenv("PODIUM_STATE_KEY", raising=False)
    score = tmp_path / "web.score.yaml"
    score.write_text(SCORE)
    cloud = TinyCloud()
    key_file = tmp_path / ".podium" / "key"

    def tokens() -> list[str]:
        found: list[str] = []
        for table in ("records", "intents", "generated", "history", "releases"):
            for (text,) in sql(f'SELECT t::text FROM "{schema}".{table} t'):
                found += re.findall(r"gAAAAA[A-Za-z0-9_\-]+=*", text)
        return found

    def opens(key: bytes, token: str) -> bool:
        try:
            Fernet(key).decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    with make_platform(tmp_path, schema, cloud) as platform:
        assert platform.up("prod", [score])[1].ok
    old = key_file.read_bytes().strip()
    before = tokens()
    assert len(before) >= 4 and all(opens(old, t) for t in before)
    assert base64.urlsafe_b64decode(old)  # a real Fernet key in the key file

    config = {
        "platform": {"name": "shop"},
        "plugins": {"allow": ["postgres"]},
        "environments": {"prod": {}},
        "state": {"backend": "postgres", "options": {"schema": schema}},
    }
    for nth, step in ((2, ""), (0, "resealed state prod"), (0, "switched")):
        killed = subprocess.run(
            [sys.executable, "-c", REKEY_KILLER, json.dumps(config), str(nth), str(tmp_path), step],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        with make_platform(tmp_path, schema, cloud) as platform:  # every secret still opens
            outputs = platform.outputs("prod", show_secrets=True)
            assert any(CANARY in str(values) for values in outputs.values())
            platform.plan("prod", [score])

    with make_platform(tmp_path, schema, cloud) as platform:
        result = platform.rekey()
        assert result.resumed is False  # the last kill came after the switch: a new rotation
        outputs = platform.outputs("prod", show_secrets=True)
        assert any(CANARY in str(values) for values in outputs.values())
        rekeys = [h for h in platform.history("prod") if h.get("operation") == "state rekey"]
        # newest first: this one, then the three killed ones (marked aborted when the
        # next rekey took their dead lease over)
        assert [h["status"] for h in rekeys] == ["succeeded", "aborted", "aborted", "aborted"]
        assert all(h["kind"] == "state" for h in rekeys)
    new = key_file.read_bytes().strip()
    after = tokens()
    assert new != old and len(after) == len(before)
    assert all(opens(new, t) for t in after)
    assert not any(opens(old, t) for t in after)
