"""A small, idempotent layer over Secrets Manager shared by the store, the
``secret`` resource type, S3 access keys and ECS task secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.plugin import Secret
from podium_aws.clients import AwsClients, aws_errors, error_code
from podium_aws.naming import tag_list

_NOT_FOUND = "ResourceNotFoundException"


@dataclass(frozen=True)
class StoredSecret:
    name: str
    arn: str
    version_id: str
    value: Secret
    tags: dict[str, str]


class SecretsManager:
    def __init__(self, clients: AwsClients, region: str | None = None) -> None:
        self._clients = clients
        self._region = region

    @property
    def _sm(self) -> Any:
        return self._clients.client("secretsmanager", self._region)

    def read(self, name: str) -> StoredSecret | None:
        """The current value of ``name``, or ``None`` if there is no such (live) secret."""
        from botocore.exceptions import ClientError

        with aws_errors(f"secretsmanager:GetSecretValue {name}"):
            try:
                got = self._sm.get_secret_value(SecretId=name)
                described = self._sm.describe_secret(SecretId=name)
            except ClientError as exc:
                if error_code(exc) == _NOT_FOUND or _is_pending_deletion(exc):
                    return None
                raise
        tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
        value = got.get("SecretString")
        if value is None:
            value = got["SecretBinary"].decode()
        return StoredSecret(name, got["ARN"], got["VersionId"], Secret(value), tags)

    def describe(self, name: str) -> tuple[dict[str, str], str] | None:
        """Tags and current version id of ``name`` without reading its value, or ``None``."""
        from botocore.exceptions import ClientError

        with aws_errors(f"secretsmanager:DescribeSecret {name}"):
            try:
                described = self._sm.describe_secret(SecretId=name)
            except ClientError as exc:
                if error_code(exc) == _NOT_FOUND or _is_pending_deletion(exc):
                    return None
                raise
        if described.get("DeletedDate"):
            return None
        tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
        stages = described.get("VersionIdsToStages", {})
        current = next((v for v, s in stages.items() if "AWSCURRENT" in s), "")
        return tags, current

    def write(
        self, name: str, value: Secret, *, tags: dict[str, str], description: str = ""
    ) -> StoredSecret:
        """Create ``name`` or give it a new version, unless it already holds ``value``.

        Skipping identical writes keeps version ids stable, so task definitions that
        pin a version stay unchanged when nothing changed.
        """
        from botocore.exceptions import ClientError

        current = self.read(name)
        if current is not None and current.value == value:
            return current
        with aws_errors(f"secretsmanager:PutSecretValue {name}"):
            if current is None:
                try:
                    made = self._sm.create_secret(
                        Name=name,
                        SecretString=value.reveal(),
                        Description=description,
                        Tags=tag_list(tags),
                    )
                    return StoredSecret(name, made["ARN"], made["VersionId"], value, tags)
                except ClientError as exc:
                    if _is_pending_deletion(exc):
                        self._sm.restore_secret(SecretId=name)
                    elif error_code(exc) != "ResourceExistsException":
                        raise
            put = self._sm.put_secret_value(SecretId=name, SecretString=value.reveal())
            if tags:
                self._sm.tag_resource(SecretId=name, Tags=tag_list(tags))
            return StoredSecret(name, put["ARN"], put["VersionId"], value, tags)

    def delete(self, name: str) -> None:
        """Delete at once (no recovery window, so the name is free again); missing is fine."""
        from botocore.exceptions import ClientError

        with aws_errors(f"secretsmanager:DeleteSecret {name}"):
            try:
                self._sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
            except ClientError as exc:
                if error_code(exc) != _NOT_FOUND and not _is_pending_deletion(exc):
                    raise

    def names(self, prefix: str) -> list[str]:
        return sorted(self.tagged(prefix))

    def tagged(self, prefix: str) -> dict[str, dict[str, str]]:
        """Each live secret whose name starts with ``prefix``, with its tags (one listing)."""
        with aws_errors("secretsmanager:ListSecrets"):
            paginator = self._sm.get_paginator("list_secrets")
            found: dict[str, dict[str, str]] = {}
            for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
                for entry in page.get("SecretList", []):
                    if entry["Name"].startswith(prefix) and not entry.get("DeletedDate"):
                        tags = {t["Key"]: t["Value"] for t in entry.get("Tags", [])}
                        found[entry["Name"]] = tags
        return found


def _is_pending_deletion(exc: BaseException) -> bool:
    return error_code(exc) == "InvalidRequestException" and "deletion" in str(exc).lower()
