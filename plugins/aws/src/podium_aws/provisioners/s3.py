"""``s3``: a private, encrypted S3 bucket, with an IAM user's access key for Score's outputs."""

from __future__ import annotations

import json
from typing import Any

from podium.plugin import Output, Outputs, Param, ResourceContext, ResourceError, Secret
from podium_aws.clients import aws_errors, error_code, partition
from podium_aws.naming import S3_MAX, secret_name, tag_list
from podium_aws.provisioners.base import AwsParams, AwsProvisioner, Flag, bool_param, optional_flag
from podium_aws.secretsmanager import SecretsManager

#: Tagged on a bucket while its delete runs: until the bucket itself goes (last), ``read``
#: still finds the resource, so an interrupted delete is planned again, never forgotten.
DELETING_TAG = "podium:deleting"


class S3Params(AwsParams):
    versioning: Flag | None = Param(
        None,
        description="Keep every version of every object (default: on in protected "
        "environments, off elsewhere).",
    )
    access_keys: Flag = Param(
        True,
        description="Make an IAM user allowed only this bucket, and give its access key "
        "as outputs.",
    )
    force_destroy: Flag = Param(
        False,
        description="On delete, delete the bucket's objects too (else a bucket "
        "that holds objects is kept).",
    )


def _key_output(what: str) -> Output:
    return Output(
        f"The bucket user's {what} (absent when access_keys is false).",
        sensitive=True,
        optional=True,
    )


class S3BucketProvisioner(AwsProvisioner):
    name = "aws-s3"
    resource_type = "s3"
    holds_data = True
    params_model = S3Params
    output_fields = {
        "bucket": Output("The bucket's name."),
        "endpoint": Output("The S3 endpoint URL."),
        "region": Output("The bucket's region."),
        "arn": Output("The bucket's ARN."),
        "access_key_id": _key_output("access key id"),
        "secret_key": _key_output("secret access key"),
        "aws_access_key_id": _key_output("access key id (the AWS SDKs' name)"),
        "aws_secret_key": _key_output("secret access key (the AWS SDKs' name)"),
    }
    max_name_length = S3_MAX

    def create(self, ctx: ResourceContext) -> Outputs:
        self.check_params(ctx)
        bucket = self.name_for(ctx)
        s3 = self.client("s3", ctx)
        if not self._exists(s3, bucket):
            self._create_bucket(s3, bucket, self.region(ctx))
        # Replacing the whole tag set also lifts the mark an interrupted delete left.
        self._configure(ctx, s3, bucket)
        keys = self._ensure_access_key(ctx, bucket) if self._wants_keys(ctx) else None
        return self._outputs(ctx, bucket, keys)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        """The bucket's outputs, or ``None`` when it is missing or was never finished.

        A bucket whose access key was never stored (a create cut short) is reported
        as missing: the engine then runs ``create`` again, which adopts the bucket
        and completes it, instead of recording outputs without credentials. A bucket
        marked by an interrupted delete is reported (without keys) whatever is left of
        it, so that delete is planned again.
        """
        bucket = self.name_for(ctx)
        s3 = self.client("s3", ctx)
        if not self._exists(s3, bucket):
            return None
        keys = None
        if self._wants_keys(ctx):
            stored = self._secrets(ctx).read(self._key_secret(ctx, bucket))
            if stored is not None:
                keys = json.loads(stored.value.reveal())
            elif not self._being_deleted(s3, bucket):
                return None
        return self._outputs(ctx, bucket, keys)

    def update(self, ctx: ResourceContext, previous: Any) -> Outputs:
        outputs = self.create(ctx)
        if not self._wants_keys(ctx):
            # access_keys turned off: the key given out before must stop working, not
            # linger unlisted in the outputs.
            bucket = self.name_for(ctx)
            self._delete_user(ctx, bucket)
            self._secrets(ctx).delete(self._key_secret(ctx, bucket))
        return outputs

    def delete(self, ctx: ResourceContext) -> None:
        """Delete the bucket, its IAM user and key, and the key's secret; idempotent.

        The bucket goes last, marked as being deleted first, so that a crash at any
        step leaves it for :meth:`read` to find and the engine to delete again. A
        bucket that holds objects (without ``force_destroy``) is refused before
        anything is touched: its user and key stay usable.
        """
        bucket = self.name_for(ctx)
        s3 = self.client("s3", ctx)
        exists = self._exists(s3, bucket)
        if exists:
            if not bool_param(ctx, "force_destroy", False) and self._holds_objects(s3, bucket):
                raise self._not_empty(ctx, bucket)
            with aws_errors(f"s3:PutBucketTagging {bucket}"):
                tags = {**self.tags_for(ctx), DELETING_TAG: "true"}
                s3.put_bucket_tagging(
                    Bucket=bucket,
                    Tagging={"TagSet": tag_list(tags)},
                    **self._owner(),
                )
        self._delete_user(ctx, bucket)
        self._secrets(ctx).delete(self._key_secret(ctx, bucket))
        if exists:
            self._delete_bucket(ctx, s3, bucket)

    def _not_empty(self, ctx: ResourceContext, bucket: str) -> ResourceError:
        return ResourceError(
            f"bucket {bucket} of {ctx.uid} still holds objects; it was kept",
            hint="empty it, or set params.force_destroy = true to delete its objects",
        )

    def _holds_objects(self, s3: Any, bucket: str) -> bool:
        with aws_errors(f"s3:ListObjectVersions {bucket}"):
            page = s3.list_object_versions(Bucket=bucket, MaxKeys=1, **self._owner())
        return bool(page.get("Versions") or page.get("DeleteMarkers"))

    def _being_deleted(self, s3: Any, bucket: str) -> bool:
        from botocore.exceptions import ClientError

        with aws_errors(f"s3:GetBucketTagging {bucket}"):
            try:
                tags = s3.get_bucket_tagging(Bucket=bucket, **self._owner())["TagSet"]
            except ClientError as exc:
                if error_code(exc) in {"NoSuchTagSet", "NoSuchBucket"}:
                    return False
                raise
        return any(t["Key"] == DELETING_TAG for t in tags)

    def _owner(self) -> dict[str, str]:
        """``ExpectedBucketOwner`` for every call on a bucket: names are deterministic, so
        a bucket of that name in another account must never be configured or emptied."""
        return {"ExpectedBucketOwner": self.clients.account_id()}

    def _delete_bucket(self, ctx: ResourceContext, s3: Any, bucket: str) -> None:
        from botocore.exceptions import ClientError

        with aws_errors(f"s3:DeleteBucket {bucket}"):
            try:
                if bool_param(ctx, "force_destroy", False):
                    self._empty(s3, bucket)
                s3.delete_bucket(Bucket=bucket, **self._owner())
            except ClientError as exc:
                code = error_code(exc)
                if code == "NoSuchBucket":
                    return
                if code == "BucketNotEmpty":
                    # Written to since the check: its user and key are gone already.
                    raise self._not_empty(ctx, bucket) from exc
                raise

    # --- bucket --------------------------------------------------------------
    def _exists(self, s3: Any, bucket: str) -> bool:
        from botocore.exceptions import ClientError

        with aws_errors(f"s3:HeadBucket {bucket}"):
            try:
                s3.head_bucket(Bucket=bucket, **self._owner())
                return True
            except ClientError as exc:
                code = error_code(exc)
                if code in {"404", "NoSuchBucket", "NotFound"}:
                    return False
                if code in {"403", "AccessDenied"}:
                    raise ResourceError(
                        f"bucket name {bucket} is taken by an account these credentials "
                        "cannot access",
                        hint="set [plugins.aws] name_prefix to move to a free name",
                    ) from exc
                raise

    def _create_bucket(self, s3: Any, bucket: str, region: str) -> None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with aws_errors(f"s3:CreateBucket {bucket}"):
            try:
                s3.create_bucket(**kwargs)
            except ClientError as exc:
                # A concurrent or interrupted earlier create made it: adopt it.
                if error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise

    def _configure(self, ctx: ResourceContext, s3: Any, bucket: str) -> None:
        with aws_errors(f"s3:PutBucket* {bucket}"):
            owner = self._owner()
            s3.put_bucket_tagging(
                Bucket=bucket, Tagging={"TagSet": tag_list(self.tags_for(ctx))}, **owner
            )
            s3.put_public_access_block(
                Bucket=bucket,
                **owner,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            s3.put_bucket_encryption(
                Bucket=bucket,
                **owner,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
            # Protected environments keep every version unless the rule says otherwise.
            versioned = optional_flag(ctx, "versioning", ctx.env.protect_data)
            wanted = "Enabled" if versioned else "Suspended"
            current = s3.get_bucket_versioning(Bucket=bucket, **owner).get("Status")
            # A bucket that never had versioning cannot be "Suspended"; leave it alone.
            if current != wanted and (current or wanted == "Enabled"):
                s3.put_bucket_versioning(
                    Bucket=bucket, VersioningConfiguration={"Status": wanted}, **owner
                )

    def _empty(self, s3: Any, bucket: str) -> None:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, **self._owner()):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if doomed:
                s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": doomed, "Quiet": True}, **self._owner()
                )

    # --- access key for Score's outputs -----------------------------------------
    def _wants_keys(self, ctx: ResourceContext) -> bool:
        return bool_param(ctx, "access_keys", True)

    def _secrets(self, ctx: ResourceContext) -> SecretsManager:
        return SecretsManager(self.clients, ctx.params.get("region"))

    def _key_secret(self, ctx: ResourceContext, bucket: str) -> str:
        return secret_name(self.settings, ctx.env.platform, ctx.env.environment, "s3", bucket)

    def _ensure_access_key(self, ctx: ResourceContext, bucket: str) -> dict[str, str]:
        """One IAM user per bucket allowed only that bucket; its key lives in Secrets Manager.

        AWS shows a secret access key once, so it is stored before being returned. A
        crash between creating a key and storing it leaves an orphan key: any key not
        matching the stored one is deleted here, so keys never accumulate.
        """
        from botocore.exceptions import ClientError

        iam = self.clients.client("iam")
        user = bucket
        secrets = self._secrets(ctx)
        stored = secrets.read(self._key_secret(ctx, bucket))
        keys: dict[str, str] | None = json.loads(stored.value.reveal()) if stored else None
        with aws_errors(f"iam:CreateUser {user}"):
            try:
                iam.create_user(UserName=user, Tags=tag_list(self.tags_for(ctx)))
            except ClientError as exc:
                if error_code(exc) != "EntityAlreadyExists":
                    raise
            iam.put_user_policy(
                UserName=user, PolicyName="podium-bucket", PolicyDocument=self._policy(ctx, bucket)
            )
            existing = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
            for meta in existing:
                if keys is None or meta["AccessKeyId"] != keys["access_key_id"]:
                    iam.delete_access_key(UserName=user, AccessKeyId=meta["AccessKeyId"])
            if keys is None or keys["access_key_id"] not in {m["AccessKeyId"] for m in existing}:
                made = iam.create_access_key(UserName=user)["AccessKey"]
                keys = {"access_key_id": made["AccessKeyId"], "secret_key": made["SecretAccessKey"]}
                secrets.write(
                    self._key_secret(ctx, bucket),
                    Secret(json.dumps(keys)),
                    tags=self.tags_for(ctx),
                    description=f"podium: access key for bucket {bucket}",
                )
        return keys

    def _policy(self, ctx: ResourceContext, bucket: str) -> str:
        arn = f"arn:{partition(self.region(ctx))}:s3:::{bucket}"
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arn},
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        "Resource": f"{arn}/*",
                    },
                ],
            }
        )

    def _delete_user(self, ctx: ResourceContext, user: str) -> None:
        from botocore.exceptions import ClientError

        iam = self.clients.client("iam")
        with aws_errors(f"iam:DeleteUser {user}"):
            try:
                for meta in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
                    iam.delete_access_key(UserName=user, AccessKeyId=meta["AccessKeyId"])
                for policy in iam.list_user_policies(UserName=user)["PolicyNames"]:
                    iam.delete_user_policy(UserName=user, PolicyName=policy)
                iam.delete_user(UserName=user)
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise

    def _outputs(self, ctx: ResourceContext, bucket: str, keys: dict[str, str] | None) -> Outputs:
        region = self.region(ctx)
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        outputs: Outputs = {
            "bucket": bucket,
            "region": region,
            "endpoint": self.settings.endpoint_url or f"https://s3.{region}.{suffix}",
            "arn": f"arn:{partition(region)}:s3:::{bucket}",
        }
        if keys:
            key_id, secret = Secret(keys["access_key_id"]), Secret(keys["secret_key"])
            outputs.update(
                access_key_id=key_id,
                secret_key=secret,
                aws_access_key_id=key_id,
                aws_secret_key=secret,
            )
        return outputs
