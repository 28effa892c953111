"""The S3 state backend against damage and misconfiguration (moto server over HTTP).

A damaged object is a StateError naming its s3:// path and how to restore a version;
``state unlock`` removes any lock object; an unversioned bucket is refused; a bucket
the backend creates is private and encrypted; a stale lease's writes are refused.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import (
    ConfigError,
    EnvironmentInfo,
    LeaseLostError,
    LockInfo,
    ResourceRecord,
    StateError,
    lease_identity,
)
from podium_aws.clients import AwsClients
from podium_aws.settings import Settings
from podium_aws.state import S3StateBackend, S3StateStore

BUCKET = "safety-state"
PREFIX = "podium/shop/prod"


@pytest.fixture
def store(settings: Settings, clients: AwsClients, env: EnvironmentInfo) -> S3StateStore:
    opened = S3StateBackend(settings, clients).open(env, {"bucket": BUCKET, "create_bucket": True})
    assert isinstance(opened, S3StateStore)
    return opened


def lease(run_id: str, ttl: float = 600) -> LockInfo:
    now = time.time()
    me = lease_identity()
    return LockInfo(
        owner="alice@laptop",
        host=socket.gethostname(),
        pid=os.getpid(),
        run_id=run_id,
        acquired_at=now,
        expires_at=now + ttl,
        boot_id=me.boot_id,
        pid_namespace=me.pid_namespace,
    )


def record(uid: str) -> ResourceRecord:
    return ResourceRecord(
        uid=uid, kind="resource", provider="aws-s3", plugin="aws", spec={}, spec_hash="h"
    )


def put_raw(boto: Any, name: str, body: bytes) -> None:
    boto("s3").put_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}", Body=body)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"format": 2, "serial": 3, "recor', "not valid JSON"),
        (b'{"format": 2, "serial": 3}', "'records' is missing"),
        (b"[1, 2]", "not a JSON object"),
    ],
    ids=["truncated", "missing-key", "not-an-object"],
)
def test_a_damaged_state_object_names_its_path_and_how_to_restore_it(
    store: S3StateStore, boto: Any, body: bytes, why: str
) -> None:
    store.put_record(record("resource:a"))
    put_raw(boto, "state.json", body)
    for read in (store.records, store.serial, lambda: store.put_record(record("resource:b"))):
        with pytest.raises(StateError) as raised:
            read()
        text = str(raised.value)
        assert f"s3://{BUCKET}/{PREFIX}/state.json is damaged" in text and why in text
        assert "list-object-versions" in text and "versionId=" in text


def test_a_truncated_state_json_through_the_cli_is_a_clear_error(
    aws: str, tmp_path: Path, boto: Any
) -> None:
    root = tmp_path / "platform"
    root.mkdir()
    (root / "podium.toml").write_text(
        f"""
[platform]
name = "shop"

[plugins]
allow = ["aws"]

[plugins.aws]
region = "us-east-1"
endpoint_url = "{aws}"

[environments.prod]

[state]
backend = "s3"
options = {{ bucket = "{BUCKET}", create_bucket = true }}
"""
    )

    def podium(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert podium("state", "list", "-e", "prod").returncode == 0
    put_raw(boto, "state.json", b'{"format": 2, "seri')
    listed = podium("state", "list", "-e", "prod")
    assert listed.returncode == 1, listed.stderr
    assert f"s3://{BUCKET}/{PREFIX}/state.json is damaged" in listed.stderr
    assert "internal error" not in listed.stderr and "Traceback" not in listed.stderr
    put_raw(boto, "lock.json", b'{"owner": "ali')
    unlocked = podium("state", "unlock", "-e", "prod")
    assert unlocked.returncode == 0, unlocked.stderr
    assert "unreadable" in unlocked.stdout
    objects = boto("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/lock.json")
    assert objects.get("KeyCount") == 0


@pytest.mark.parametrize("body", [b'{"owner": "al', b'{"owner": "alice"}', b"null"])
def test_a_damaged_lock_is_named_and_unlock_removes_it(
    store: S3StateStore, boto: Any, body: bytes
) -> None:
    put_raw(boto, "lock.json", body)
    with pytest.raises(StateError) as raised:
        store.acquire_lock(lease("run-a"))
    assert f"s3://{BUCKET}/{PREFIX}/lock.json is damaged" in str(raised.value)
    assert "podium state unlock" in str(raised.value)
    removed = store.force_unlock()
    assert removed is not None and "unreadable" in removed.owner
    assert store.lock_info() is None
    assert store.acquire_lock(lease("run-a")) is None


def test_a_pre_existing_unversioned_bucket_is_refused(
    settings: Settings, clients: AwsClients, env: EnvironmentInfo, boto: Any
) -> None:
    boto("s3").create_bucket(Bucket="plain-bucket")
    backend = S3StateBackend(settings, clients)
    with pytest.raises(ConfigError) as raised:
        backend.open(env, {"bucket": "plain-bucket"})
    text = str(raised.value)
    assert "does not keep object versions" in text and "state.options.bucket" in text
    assert (
        "aws s3api put-bucket-versioning --bucket plain-bucket "
        "--versioning-configuration Status=Enabled" in text
    )
    boto("s3").put_bucket_versioning(
        Bucket="plain-bucket", VersioningConfiguration={"Status": "Suspended"}
    )
    with pytest.raises(ConfigError, match="versioning is suspended"):
        backend.open(env, {"bucket": "plain-bucket"})
    boto("s3").put_bucket_versioning(
        Bucket="plain-bucket", VersioningConfiguration={"Status": "Enabled"}
    )
    backend.open(env, {"bucket": "plain-bucket"}).close()


def test_a_bucket_the_backend_creates_is_versioned_private_and_encrypted(
    store: S3StateStore, boto: Any
) -> None:
    s3 = boto("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_deleting_lock_json_mid_run_fences_the_first_run_out(
    store: S3StateStore, boto: Any
) -> None:
    store.acquire_lock(lease("run-a"))
    first = store.lock_info()
    assert first is not None and first.epoch >= 1
    run_a = store.fenced(first.epoch)
    run_a.put_record(record("resource:a"))
    # Someone deletes lock.json by hand; a second run takes the lease.
    boto("s3").delete_object(Bucket=BUCKET, Key=f"{PREFIX}/lock.json")
    store.acquire_lock(lease("run-b"))
    second = store.lock_info()
    assert second is not None and second.epoch > first.epoch
    for write in (
        lambda: run_a.put_record(record("resource:late")),
        lambda: run_a.begin_intent(_intent()),
        lambda: run_a.add_release("web", {"deployer": "x"}),
        lambda: run_a.add_history({"operation": "apply"}),
    ):
        with pytest.raises(LeaseLostError, match="epoch"):
            write()
    assert [r.uid for r in store.records()] == ["resource:a"]
    store.fenced(second.epoch).put_record(record("resource:b"))


def _intent() -> Any:
    from podium.plugin import Intent

    return Intent(node="resource:late", action="create", spec={}, run_id="run-a")
