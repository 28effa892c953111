"""``s3``: a state backend that keeps an environment's state in an S3 bucket.

Layout under ``<prefix>/`` (default ``podium/<platform>/<environment>``):

* ``state.json`` — serial, records, pending intents and generated values. Every
  change is a read-modify-write guarded by the object's ETag (``If-Match``, or
  ``If-None-Match: *`` for the first write), retried on conflict, so concurrent
  writers can never lose each other's changes.
* ``lock.json`` — the lease lock, taken with ``If-None-Match: *``; an expired lease
  is taken over with ``If-Match`` on the ETag that was read, so of two processes
  racing for it exactly one wins.
* Fencing: ``state.json`` holds the environment's ``epoch``. A run that wins
  ``lock.json`` moves it on (a compare-and-swap like any change) and records the
  new value in its lease. Every write of :meth:`S3StateStore.fenced` checks it
  inside the same compare-and-swap, so once a later lease exists the old run's
  writes are refused, however long it was paused. History and release objects
  live outside ``state.json``: their writes check the epoch just before writing.
* ``history/<id>.json`` and ``releases/<workload>/<number>.json`` — append-only
  objects, each number claimed by a conditional create.

Secrets arrive already sealed by the core (``{"$secret": token}``): this module
stores JSON and never sees a key. The bucket must keep object versions (it is
refused otherwise), so a damaged object can always be restored: errors about one
say how.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from podium.plugin import (
    ConfigError,
    EnvironmentInfo,
    Intent,
    LeaseLostError,
    LockedError,
    LockInfo,
    ResourceRecord,
    StateBackend,
    StateError,
    StateStore,
    lease_lost_error,
    lock_from_dict,
)
from podium_aws.clients import AwsClients, aws_errors, error_code
from podium_aws.settings import Settings

T = TypeVar("T")

#: Codes S3 answers a failed conditional write with (409 when two land at once).
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_ATTEMPTS = 64
_UNLOCK_HINT = "if no podium run is active, run 'podium state unlock' to remove it"
#: Version of ``state.json``: 2 added each record's ``owner``. A newer one is refused.
#: (The fencing ``epoch`` is an optional key: older readers ignore it.)
STATE_FORMAT = 2
#: The keys of ``state.json`` and their types.
_STATE_KEYS = {
    "serial": int,
    "records": dict,
    "intents": dict,
    "next_intent": int,
    "generated": dict,
}


class S3StateOptions(BaseModel):
    """``[state] options`` for ``backend = "s3"``."""

    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(description="Bucket that holds the state (shared by the team).")
    prefix: str | None = Field(
        default=None, description="Key prefix; default podium/<platform>/<env>."
    )
    region: str | None = Field(
        default=None, description="Region of the bucket; default the plugin's."
    )
    endpoint_url: str | None = Field(default=None, description="S3 endpoint; default the plugin's.")
    profile: str | None = None
    create_bucket: bool = Field(
        default=False, description="Create the bucket if it does not exist."
    )


class S3StateBackend(StateBackend):
    name = "s3"

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self._settings = settings
        self._clients = clients

    def open(self, env: EnvironmentInfo, options: dict[str, Any]) -> StateStore:
        try:
            opts = S3StateOptions.model_validate(options)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"invalid option for the s3 state backend: {first['msg']}",
                field=f"state.options.{field}" if field else "state.options",
            ) from None
        clients = self._clients
        overrides = {
            k: v
            for k, v in {
                "region": opts.region,
                "endpoint_url": opts.endpoint_url,
                "profile": opts.profile,
            }.items()
            if v
        }
        if overrides:
            clients = AwsClients(self._settings.model_copy(update=overrides))
        prefix = (opts.prefix or f"podium/{env.platform}/{env.environment}").strip("/")
        store = S3StateStore(clients, opts.bucket, prefix)
        store.ensure_bucket(create=opts.create_bucket)
        return store


class S3StateStore(StateStore):
    def __init__(self, clients: AwsClients, bucket: str, prefix: str) -> None:
        self._clients = clients
        self.bucket = bucket
        self.prefix = prefix
        #: the lease epoch every write of this view is checked against; None: unfenced
        self._epoch: int | None = None

    @property
    def _s3(self) -> Any:
        return self._clients.client("s3")

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def ensure_bucket(self, *, create: bool) -> None:
        from botocore.exceptions import ClientError

        with aws_errors(f"s3:HeadBucket {self.bucket}"):
            try:
                self._s3.head_bucket(Bucket=self.bucket)
                exists = True
            except ClientError as exc:
                if error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                    raise
                exists = False
        if exists:
            self._require_versioning()
            return
        with aws_errors(f"s3:CreateBucket {self.bucket}"):
            if not create:
                raise ConfigError(
                    f"state bucket {self.bucket!r} does not exist",
                    field="state.options.bucket",
                    hint="create it, or set [state] options.create_bucket = true",
                )
            region = self._clients.region()
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                self._s3.create_bucket(**kwargs)
            except ClientError as exc:
                if error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise
            # State is the one thing that must never be lost: keep every version,
            # never let a policy or ACL make it public, and encrypt it at rest.
            self._s3.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            )
            self._s3.put_public_access_block(
                Bucket=self.bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            self._s3.put_bucket_encryption(
                Bucket=self.bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )

    def _require_versioning(self) -> None:
        """Refuse a bucket that does not keep object versions: a bad write could not be undone."""
        with aws_errors(f"s3:GetBucketVersioning {self.bucket}"):
            status = self._s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
        if status != "Enabled":
            raise ConfigError(
                f"state bucket {self.bucket!r} does not keep object versions "
                f"(versioning is {str(status or 'off').lower()}): a damaged or overwritten "
                "state object could not be restored",
                field="state.options.bucket",
                hint=f"enable versioning: aws s3api put-bucket-versioning --bucket {self.bucket} "
                "--versioning-configuration Status=Enabled",
            )

    def _restore_hint(self, name: str) -> str:
        key = self._key(name)
        return (
            f"the bucket keeps every version of it: list them with 'aws s3api "
            f"list-object-versions --bucket {self.bucket} --prefix {key}' and restore the "
            f"last good one with 'aws s3api copy-object --bucket {self.bucket} --key {key} "
            f"--copy-source {self.bucket}/{key}?versionId=VERSION'"
        )

    def _damaged(self, name: str, why: str) -> StateError:
        # A lease is worth nothing once damaged: remove it rather than restore it.
        hint = _UNLOCK_HINT if name == "lock.json" else self._restore_hint(name)
        return StateError(f"s3://{self.bucket}/{self._key(name)} is damaged: {why}", hint=hint)

    # --- raw object access -----------------------------------------------------
    def _get(self, name: str) -> tuple[Any, str] | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"s3:GetObject {self.bucket}/{self._key(name)}"):
            try:
                got = self._s3.get_object(Bucket=self.bucket, Key=self._key(name))
            except ClientError as exc:
                if error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
                    return None
                raise
            body = got["Body"].read()
        try:
            return json.loads(body), str(got["ETag"])
        except ValueError as exc:  # truncated, not UTF-8, not JSON
            raise self._damaged(name, f"it is not valid JSON ({exc})") from None

    def _put(
        self, name: str, data: Any, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str | None:
        """Write ``name``; its new ETag, or ``None`` when the condition does not hold."""
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._key(name),
            "Body": json.dumps(data, sort_keys=True).encode(),
            "ContentType": "application/json",
        }
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        with aws_errors(f"s3:PutObject {self.bucket}/{self._key(name)}"):
            try:
                put = self._s3.put_object(**kwargs)
            except ClientError as exc:
                if error_code(exc) in _CONFLICT:
                    return None
                raise
        return str(put.get("ETag", ""))

    def _delete(self, name: str, *, if_match: str | None = None) -> bool:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(name)}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        with aws_errors(f"s3:DeleteObject {self.bucket}/{self._key(name)}"):
            try:
                self._s3.delete_object(**kwargs)
            except ClientError as exc:
                if error_code(exc) in _CONFLICT:
                    return False
                if error_code(exc) in {"NoSuchKey", "404"}:
                    return True
                raise
        return True

    def _list(self, folder: str) -> list[str]:
        with aws_errors(f"s3:ListObjectsV2 {self.bucket}/{self._key(folder)}"):
            paginator = self._s3.get_paginator("list_objects_v2")
            keys: list[str] = []
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(folder) + "/"):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)

    # --- the state document, changed only by compare-and-swap ------------------
    def _read_state(self) -> tuple[dict[str, Any], str | None]:
        found = self._get("state.json")
        if found is None:
            return _empty_state(), None
        if not isinstance(found[0], dict):
            raise self._damaged("state.json", "it is not a JSON object")
        version = found[0].get("format", 1)
        if not isinstance(version, int) or version > STATE_FORMAT:
            raise StateError(
                f"{self.where}/state.json has format {version!r}, written by a newer "
                f"podium-aws; this one understands formats up to {STATE_FORMAT}",
                hint="upgrade podium-aws to work with this state",
            )
        for key, kind in _STATE_KEYS.items():
            if not isinstance(found[0].get(key), kind):
                raise self._damaged(
                    "state.json", f"its {key!r} is missing or not a {kind.__name__}"
                )
        return found[0], found[1]

    def fenced(self, epoch: int) -> S3StateStore:
        view = copy.copy(self)  # shares the clients; only the epoch differs
        view._epoch = epoch
        return view

    def _check_fence(self, doc: dict[str, Any]) -> None:
        current = int(doc.get("epoch", 0))
        if self._epoch is not None and current > self._epoch:
            raise lease_lost_error(self.where, self._epoch, current)

    def _fence_now(self) -> None:
        """For writes outside ``state.json``: check the epoch just before writing."""
        if self._epoch is not None:
            self._check_fence(self._read_state()[0])

    def _transact(self, change: Callable[[dict[str, Any]], T], *, fenced: bool = True) -> T:
        for attempt in range(_ATTEMPTS):
            doc, etag = self._read_state()
            if fenced:
                # In the same compare-and-swap as the write: a lease granted after this
                # read moves the epoch, which changes the ETag, which fails our write.
                self._check_fence(doc)
            before = json.dumps(doc, sort_keys=True)
            result = change(doc)
            if json.dumps(doc, sort_keys=True) == before:
                return result
            doc["format"] = STATE_FORMAT  # records written from now on may carry owners
            written = (
                self._put("state.json", doc, if_none_match=True)
                if etag is None
                else self._put("state.json", doc, if_match=etag)
            )
            if written:
                return result
            # Someone else wrote in between: re-read and re-apply, after a short jittered pause.
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))
        raise StateError(
            f"could not update s3://{self.bucket}/{self._key('state.json')}: "
            f"{_ATTEMPTS} conflicting writes in a row"
        )

    # --- version and records -----------------------------------------------------
    def serial(self) -> int:
        return int(self._read_state()[0]["serial"])

    def records(self) -> list[ResourceRecord]:
        doc = self._read_state()[0]
        return [ResourceRecord.from_dict(r) for _, r in sorted(doc["records"].items())]

    def put_record(self, record: ResourceRecord) -> None:
        def change(doc: dict[str, Any]) -> None:
            doc["records"][record.uid] = record.to_dict()
            doc["serial"] += 1

        self._transact(change)

    def delete_record(self, uid: str) -> None:
        def change(doc: dict[str, Any]) -> None:
            if doc["records"].pop(uid, None) is not None:
                doc["serial"] += 1

        self._transact(change)

    # --- intent journal ------------------------------------------------------------
    def begin_intent(self, intent: Intent) -> int:
        def change(doc: dict[str, Any]) -> int:
            doc["next_intent"] += 1
            number = int(doc["next_intent"])
            data = asdict(intent)
            data["id"] = number
            data["started_at"] = intent.started_at or _now()
            doc["intents"][str(number)] = data
            return number

        number = self._transact(change)
        intent.id = number
        return number

    def complete_intent(
        self, intent_id: int, *, record: ResourceRecord | None = None, delete_uid: str | None = None
    ) -> None:
        def change(doc: dict[str, Any]) -> None:
            doc["intents"].pop(str(intent_id), None)
            if record is not None:
                doc["records"][record.uid] = record.to_dict()
                doc["serial"] += 1
            if delete_uid is not None and doc["records"].pop(delete_uid, None) is not None:
                doc["serial"] += 1

        self._transact(change)

    def pending_intents(self) -> list[Intent]:
        doc = self._read_state()[0]
        return [Intent(**doc["intents"][k]) for k in sorted(doc["intents"], key=int)]

    # --- generated values ------------------------------------------------------------
    def get_generated(self, node: str, key: str) -> str | None:
        value = self._read_state()[0]["generated"].get(node, {}).get(key)
        return None if value is None else str(value)

    def put_generated(self, node: str, key: str, token: str) -> None:
        def change(doc: dict[str, Any]) -> None:
            doc["generated"].setdefault(node, {})[key] = token

        self._transact(change)

    def forget_generated(self, node: str) -> None:
        def change(doc: dict[str, Any]) -> None:
            doc["generated"].pop(node, None)

        self._transact(change)

    # --- lease lock ---------------------------------------------------------------------
    def _lock(self) -> tuple[LockInfo, str] | None:
        """The lease in ``lock.json`` and its ETag; a StateError naming it if unreadable."""
        held = self._get("lock.json")
        if held is None:
            return None
        lease = lock_from_dict(held[0])
        if lease is None:
            raise self._damaged("lock.json", "it is not a lease")
        return lease, held[1]

    def acquire_lock(self, info: LockInfo) -> LockInfo | None:
        from podium.plugin import locked_error, takeover_reason

        data = asdict(info)
        for _ in range(_ATTEMPTS):
            etag = self._put("lock.json", data, if_none_match=True)
            if etag:
                self._grant_epoch(data, etag)
                return None
            held = self._lock()
            if held is None:
                continue  # released between our write and our read: try again
            current, etag = held
            mine = current.run_id == info.run_id
            if not mine and takeover_reason(current) is None:
                raise locked_error(current, self.where)
            # Our own lease again, or a dead one: take it only if nobody changed it since
            # we read it; of two runs racing for an expired lease exactly one succeeds.
            if mine:
                if self._put("lock.json", dict(data, epoch=current.epoch), if_match=etag):
                    return None  # the same run keeps its epoch
            else:
                won = self._put("lock.json", data, if_match=etag)
                if won:
                    self._grant_epoch(data, won)
                    return current
        raise StateError(f"could not take the lock on {self.where}: too many conflicting writes")

    def _grant_epoch(self, lease: dict[str, Any], etag: str) -> None:
        """Move the environment's epoch on for the lease just won, and record it in the lease.

        After winning ``lock.json``, not before: a run that fails to get the lock must
        never fence out the live holder.
        """

        def bump(doc: dict[str, Any]) -> int:
            doc["epoch"] = int(doc.get("epoch", 0)) + 1
            return int(doc["epoch"])

        epoch = self._transact(bump, fenced=False)
        if not self._put("lock.json", dict(lease, epoch=epoch), if_match=etag):
            # Removed or taken over in between (someone ran 'podium state unlock').
            raise LockedError(
                f"the lock on {self.where} was taken by another run as it was granted",
                hint="retry once that run is done",
            )

    def renew_lock(self, run_id: str, expires_at: float) -> None:
        held = self._lock()
        if held is None or held[0].run_id != run_id:
            now = f": it is now held by run {held[0].run_id}" if held else ""
            raise LeaseLostError(f"run {run_id} lost its lock on {self.where}{now}")
        data = dict(asdict(held[0]), expires_at=expires_at)
        if not self._put("lock.json", data, if_match=held[1]):
            raise LeaseLostError(f"run {run_id} lost its lock on {self.where} while renewing it")

    def release_lock(self, run_id: str) -> None:
        held = self._lock()
        if held is None or held[0].run_id != run_id:
            return  # not ours (any more): leave the new holder alone
        self._delete("lock.json", if_match=held[1])

    def lock_info(self) -> LockInfo | None:
        held = self._lock()
        return None if held is None else held[0]

    def force_unlock(self) -> LockInfo | None:
        """Remove ``lock.json`` whatever it holds, even unreadable; fence its holder out."""
        try:
            held = self._lock()
            removed = None if held is None else held[0]
        except StateError:  # damaged: remove it all the same (that is what unlock is for)
            removed = LockInfo(
                owner=f"an unreadable lease (s3://{self.bucket}/{self._key('lock.json')})",
                host="?",
                pid=0,
                run_id="?",
                acquired_at=0.0,
                expires_at=0.0,
                operation="unknown",
            )
        if removed is None:
            return None
        self._delete("lock.json")

        def bump(doc: dict[str, Any]) -> None:
            doc["epoch"] = int(doc.get("epoch", 0)) + 1

        # state.json unreadable too: then no run can write it anyway
        with contextlib.suppress(StateError):
            self._transact(bump, fenced=False)
        return removed

    # --- history and releases ----------------------------------------------------------
    def _append(self, folder: str, data: dict[str, Any], field: str) -> int:
        """Claim the next number in ``folder`` with a conditional create; return it."""
        self._fence_now()
        keys = self._list(folder)
        number = int(keys[-1].rsplit("/", 1)[1].split(".")[0]) + 1 if keys else 1
        for _ in range(_ATTEMPTS):
            if self._put(
                f"{folder}/{number:010d}.json", {**data, field: number}, if_none_match=True
            ):
                return number
            number += 1
        raise StateError(f"could not append to {folder}: too many concurrent writers")

    def add_history(self, entry: dict[str, Any]) -> int:
        return self._append("history", entry, "id")

    def update_history(self, entry_id: int, entry: dict[str, Any]) -> None:
        name = f"history/{entry_id:010d}.json"
        self._fence_now()
        if self._get(name) is None:
            raise StateError(f"no history entry {entry_id}")
        self._put(name, {**entry, "id": entry_id})

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        keys = self._list("history")[::-1][:limit]
        entries = []
        for key in keys:
            found = self._get(key[len(self.prefix) + 1 :])
            if found is not None:
                entries.append(found[0])
        return entries

    def add_release(self, workload: str, data: dict[str, Any]) -> int:
        return self._append(f"releases/{quote(workload, safe='')}", data, "number")

    def releases(self, workload: str) -> list[dict[str, Any]]:
        found = []
        for key in self._list(f"releases/{quote(workload, safe='')}"):
            got = self._get(key[len(self.prefix) + 1 :])
            if got is not None:
                found.append(got[0])
        return found

    # --- rekey ----------------------------------------------------------------------------
    def reseal(self, reseal: Callable[[str], str]) -> int:
        """Re-seal every sealed token (``podium state rekey``, plugin API 1.3).

        ``state.json`` (records, intents, generated values) changes in one
        compare-and-swap; each history and release object is then replaced whole,
        ``If-Match`` its ETag. S3 has no transaction across objects: a crash here leaves
        some objects re-sealed and some not, which both keys open until the rekey's switch.
        """
        from podium.plugin import reseal_value  # plugin API 1.3; only a 1.3 core calls this

        def change(doc: dict[str, Any]) -> int:
            count = 0
            records, n = reseal_value(doc["records"], reseal)
            if n:
                doc["records"] = records
                doc["serial"] += 1  # a saved plan made before must be made again
            count += n
            doc["intents"], n = reseal_value(doc["intents"], reseal)
            count += n
            for values in doc["generated"].values():
                for key, token in values.items():
                    values[key] = reseal(str(token))
                    count += values[key] != token
            return count

        changed = self._transact(change)
        for key in [*self._list("history"), *self._list("releases")]:
            changed += self._reseal_object(key[len(self.prefix) + 1 :], reseal_value, reseal)
        return changed

    def _reseal_object(
        self,
        name: str,
        reseal_value: Callable[[Any, Callable[[str], str]], tuple[Any, int]],
        reseal: Callable[[str], str],
    ) -> int:
        for _ in range(_ATTEMPTS):
            found = self._get(name)
            if found is None:
                return 0
            data, n = reseal_value(found[0], reseal)
            if not n:
                return 0
            self._fence_now()
            if self._put(name, data, if_match=found[1]) is not None:
                return n
        raise StateError(f"could not re-seal {self.where}/{name}: too many concurrent writers")


def _empty_state() -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "serial": 0,
        "records": {},
        "intents": {},
        "next_intent": 0,
        "generated": {},
    }


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
