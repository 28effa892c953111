"""``postgres``: an RDS for PostgreSQL instance.

The master password comes from ``ctx.generate_secret``: the core journals it
(encrypted) before returning it, so a create interrupted by a crash is retried,
or adopted, with the same password.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from podium.plugin import (
    Output,
    Outputs,
    Param,
    ResourceContext,
    ResourceError,
    Secret,
    TransientError,
)
from podium_aws.clients import aws_errors, error_code
from podium_aws.naming import RDS_MAX, tag_list
from podium_aws.provisioners.base import AwsParams, AwsProvisioner, Flag, bool_param, int_param

#: States in which an instance is on its way out; it cannot be adopted or changed.
_GOING = {"deleting", "deleted"}
_WAIT = {"Delay": 15, "MaxAttempts": 120}
_PASSWORD_TAG = "podium:password-fingerprint"


def final_snapshot_name(identifier: str) -> str:
    """``<identifier>-final-<UTC time>``: unique per delete, valid as a snapshot identifier."""
    return f"{identifier}-final-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"


def _fingerprint(password: Secret) -> str:
    """A digest that tells whether the instance has this password (it is random: no leak)."""
    return hashlib.sha256(b"podium-rds:" + password.reveal().encode()).hexdigest()[:16]


class PostgresParams(AwsParams):
    instance_class: str | None = Param(
        None, description="The DB instance class (default: the rds_instance_class setting)."
    )
    allocated_storage: int | None = Param(
        None, description="Storage in GiB (default: the rds_allocated_storage setting)."
    )
    engine_version: str | None = Param(None, description="PostgreSQL version (default: AWS's).")
    database: str | None = Param(
        None, forces_replacement=True, description="The database's name (default app)."
    )
    username: str | None = Param(
        None, forces_replacement=True, description="The master user's name (default podium)."
    )
    multi_az: Flag = Param(False, description="A standby in another availability zone.")
    backup_retention_days: int = Param(7, description="Days automated backups are kept.")
    publicly_accessible: Flag = Param(False, description="Reachable from outside the VPC.")


class RdsPostgresProvisioner(AwsProvisioner):
    name = "aws-rds-postgres"
    resource_type = "postgres"
    holds_data = True
    params_model = PostgresParams
    output_fields = {
        "host": Output("The instance's address."),
        "port": Output("Its port.", type=int),
        "name": Output("The database's name."),
        "database": Output("The database's name (Score's usual key)."),
        "username": Output("The master user."),
        "password": Output("The master user's password.", sensitive=True),
        "arn": Output("The instance's ARN."),
        "identifier": Output("The DB instance identifier."),
    }
    max_name_length = RDS_MAX

    def create(self, ctx: ResourceContext) -> Outputs:
        self.check_params(ctx)
        rds = self.client("rds", ctx)
        identifier = self.name_for(ctx)
        password = ctx.generate_secret("password")
        instance = self._describe(rds, identifier)
        if instance is None:
            from botocore.exceptions import ClientError

            kwargs: dict[str, Any] = {
                "DBInstanceIdentifier": identifier,
                "Engine": "postgres",
                "DBName": self._database(ctx),
                "MasterUsername": self._username(ctx),
                "MasterUserPassword": password.reveal(),
                "StorageEncrypted": True,
                "CopyTagsToSnapshot": True,
                # In a protected environment only Podium (with the operator's consent) deletes it.
                "DeletionProtection": ctx.env.protect_data,
                "Tags": tag_list({**self.tags_for(ctx), _PASSWORD_TAG: _fingerprint(password)}),
                **self._mutable(ctx),
            }
            with aws_errors(f"rds:CreateDBInstance {identifier}"):
                try:
                    rds.create_db_instance(**kwargs)
                except ClientError as exc:
                    if error_code(exc) != "DBInstanceAlreadyExists":
                        raise
        elif instance["DBInstanceStatus"] in _GOING:
            raise TransientError(f"RDS instance {identifier} is still being deleted")
        else:
            self._modify(ctx, rds, instance, password)
        instance = self._wait_available(rds, identifier)
        return self._outputs(ctx, instance)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        instance = self._describe(self.client("rds", ctx), self.name_for(ctx))
        if instance is None or instance["DBInstanceStatus"] in _GOING:
            return None
        return self._outputs(ctx, instance)

    def update(self, ctx: ResourceContext, previous: Any) -> Outputs:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        from botocore.exceptions import ClientError

        rds = self.client("rds", ctx)
        identifier = self.name_for(ctx)
        self._lift_deletion_protection(rds, identifier)
        with aws_errors(f"rds:DeleteDBInstance {identifier}"):
            try:
                # Data outlives the instance: a final snapshot, and the automated backups kept.
                rds.delete_db_instance(
                    DBInstanceIdentifier=identifier,
                    FinalDBSnapshotIdentifier=final_snapshot_name(identifier),
                    DeleteAutomatedBackups=False,
                )
            except ClientError as exc:
                code = error_code(exc)
                if code == "DBInstanceNotFound":
                    return
                # Already being deleted by an earlier, interrupted run: just wait for it.
                if code != "InvalidDBInstanceState":
                    raise
            rds.get_waiter("db_instance_deleted").wait(
                DBInstanceIdentifier=identifier, WaiterConfig=_WAIT
            )

    # --- helpers -------------------------------------------------------------
    def _lift_deletion_protection(self, rds: Any, identifier: str) -> None:
        """Turn deletion protection off before Podium's own delete.

        The delete is planned and, in a protected environment, consented to with
        ``--allow-data-loss``: the protection guards against deletes outside Podium.
        """
        instance = self._describe(rds, identifier)
        if instance is None or not instance.get("DeletionProtection"):
            return
        with aws_errors(f"rds:ModifyDBInstance {identifier}"):
            rds.modify_db_instance(
                DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True
            )

    def _describe(self, rds: Any, identifier: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"rds:DescribeDBInstances {identifier}"):
            try:
                found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
            except ClientError as exc:
                if error_code(exc) == "DBInstanceNotFound":
                    return None
                raise
        return dict(found[0]) if found else None

    def _wait_available(self, rds: Any, identifier: str) -> dict[str, Any]:
        with aws_errors(f"rds:waiting for {identifier}"):
            rds.get_waiter("db_instance_available").wait(
                DBInstanceIdentifier=identifier, WaiterConfig=_WAIT
            )
        instance = self._describe(rds, identifier)
        if instance is None:
            raise TransientError(f"RDS instance {identifier} vanished while it was being created")
        return instance

    def _mutable(self, ctx: ResourceContext) -> dict[str, Any]:
        params: dict[str, Any] = {
            "DBInstanceClass": str(
                ctx.params.get("instance_class", self.settings.rds_instance_class)
            ),
            "AllocatedStorage": int_param(
                ctx, "allocated_storage", self.settings.rds_allocated_storage
            ),
            "MultiAZ": bool_param(ctx, "multi_az", False),
            "PubliclyAccessible": bool_param(ctx, "publicly_accessible", False),
            "BackupRetentionPeriod": int_param(ctx, "backup_retention_days", 7),
        }
        if ctx.params.get("engine_version"):
            params["EngineVersion"] = str(ctx.params["engine_version"])
        return params

    def _modify(
        self, ctx: ResourceContext, rds: Any, instance: dict[str, Any], password: Secret
    ) -> None:
        """Apply only the mutable params that differ, so an unchanged resource is untouched.

        The instance is tagged with a fingerprint of its master password; an adopted
        instance whose fingerprint differs (its record and generated password were
        lost) gets the password podium now holds, so the outputs are true again.
        """
        current = {
            "DBInstanceClass": instance.get("DBInstanceClass"),
            "AllocatedStorage": instance.get("AllocatedStorage"),
            "MultiAZ": instance.get("MultiAZ"),
            "PubliclyAccessible": instance.get("PubliclyAccessible"),
            "BackupRetentionPeriod": instance.get("BackupRetentionPeriod"),
            "EngineVersion": instance.get("EngineVersion"),
        }
        changes = {k: v for k, v in self._mutable(ctx).items() if current.get(k) != v}
        tags = {t["Key"]: t["Value"] for t in instance.get("TagList", [])}
        if tags.get(_PASSWORD_TAG) != _fingerprint(password):
            changes["MasterUserPassword"] = password.reveal()
        if changes:
            with aws_errors(f"rds:ModifyDBInstance {instance['DBInstanceIdentifier']}"):
                rds.modify_db_instance(
                    DBInstanceIdentifier=instance["DBInstanceIdentifier"],
                    ApplyImmediately=True,
                    **changes,
                )
        with aws_errors(f"rds:AddTagsToResource {instance['DBInstanceIdentifier']}"):
            rds.add_tags_to_resource(
                ResourceName=instance["DBInstanceArn"],
                Tags=tag_list({**self.tags_for(ctx), _PASSWORD_TAG: _fingerprint(password)}),
            )

    def _database(self, ctx: ResourceContext) -> str:
        name = str(ctx.params.get("database") or "app")
        if not name[:1].isalpha() or not name.replace("_", "").isalnum() or len(name) > 63:
            raise ResourceError(
                f"param database of {ctx.uid} must start with a letter and hold only letters, "
                f"digits and underscores (at most 63), got {name!r}"
            )
        return name

    def _username(self, ctx: ResourceContext) -> str:
        name = str(ctx.params.get("username") or "podium")
        if not name[:1].isalpha() or not name.replace("_", "").isalnum() or len(name) > 63:
            raise ResourceError(f"param username of {ctx.uid} is not a valid PostgreSQL user name")
        return name

    def _outputs(self, ctx: ResourceContext, instance: dict[str, Any]) -> Outputs:
        endpoint = instance.get("Endpoint") or {}
        database = instance.get("DBName") or self._database(ctx)
        return {
            "host": endpoint.get("Address", ""),
            "port": int(endpoint.get("Port", 5432)),
            "name": database,
            "database": database,
            "username": instance.get("MasterUsername") or self._username(ctx),
            "password": ctx.generate_secret("password"),
            "arn": instance["DBInstanceArn"],
            "identifier": instance["DBInstanceIdentifier"],
        }
