"""``dynamodb``: a DynamoDB table keyed by the params' hash (and optional range) key."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from podium.plugin import Output, Outputs, Param, ResourceContext, ResourceError
from podium_aws.clients import aws_errors, error_code
from podium_aws.naming import DYNAMODB_MAX, tag_list
from podium_aws.provisioners.base import (
    AwsParams,
    AwsProvisioner,
    Flag,
    int_param,
    optional_flag,
)

_KEY_TYPES = {"S", "N", "B"}


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


#: An attribute type, in any case (``s`` is ``S``).
KeyType = Annotated[Literal["S", "N", "B"], BeforeValidator(_upper)]


class TableParams(AwsParams):
    hash_key: str | None = Param(
        None, forces_replacement=True, description="The partition key's name (default: id)."
    )
    hash_key_type: KeyType = Param(
        "S", forces_replacement=True, description="Its type: S (string), N (number) or B."
    )
    range_key: str | None = Param(
        None, forces_replacement=True, description="The sort key's name (default: none)."
    )
    range_key_type: KeyType = Param("S", forces_replacement=True, description="Its type.")
    billing_mode: Annotated[Literal["PAY_PER_REQUEST", "PROVISIONED"], BeforeValidator(_upper)] = (
        Param("PAY_PER_REQUEST", description="On-demand, or provisioned capacity.")
    )
    read_capacity: int | None = Param(
        None, description="Read capacity units when PROVISIONED (default 5)."
    )
    write_capacity: int | None = Param(
        None, description="Write capacity units when PROVISIONED (default 5)."
    )
    point_in_time_recovery: Flag | None = Param(
        None,
        description="Continuous backups to restore any second of the last 35 days "
        "(default: on in protected environments).",
    )


class DynamoDbTableProvisioner(AwsProvisioner):
    name = "aws-dynamodb"
    resource_type = "dynamodb"
    holds_data = True
    params_model = TableParams
    output_fields = {
        "name": Output("The table's name."),
        "arn": Output("The table's ARN."),
        "region": Output("The table's region."),
    }
    max_name_length = DYNAMODB_MAX

    def create(self, ctx: ResourceContext) -> Outputs:
        self.check_params(ctx)
        ddb = self.client("dynamodb", ctx)
        name = self.name_for(ctx)
        table = self._describe(ddb, name)
        if table is None:
            table = self._create(ctx, ddb, name)
        else:
            self._update(ctx, ddb, table)
        with aws_errors(f"dynamodb:TagResource {name}"):
            ddb.tag_resource(ResourceArn=table["TableArn"], Tags=tag_list(self.tags_for(ctx)))
        self._point_in_time_recovery(ctx, ddb, name)
        return self._outputs(ctx, table)

    def _point_in_time_recovery(self, ctx: ResourceContext, ddb: Any, name: str) -> None:
        """On when asked, and by default in protected environments; turned off only when
        the params say so (never just because a default does not ask for it)."""
        explicit = ctx.params.get("point_in_time_recovery")
        wanted = optional_flag(ctx, "point_in_time_recovery", ctx.env.protect_data)
        if not wanted and explicit is None:
            return
        with aws_errors(f"dynamodb:UpdateContinuousBackups {name}"):
            described = ddb.describe_continuous_backups(TableName=name)
            status = (
                described.get("ContinuousBackupsDescription", {})
                .get("PointInTimeRecoveryDescription", {})
                .get("PointInTimeRecoveryStatus")
            )
            if (status == "ENABLED") != wanted:
                ddb.update_continuous_backups(
                    TableName=name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": wanted},
                )

    def read(self, ctx: ResourceContext) -> Outputs | None:
        table = self._describe(self.client("dynamodb", ctx), self.name_for(ctx))
        return None if table is None else self._outputs(ctx, table)

    def update(self, ctx: ResourceContext, previous: Any) -> Outputs:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        from botocore.exceptions import ClientError

        ddb = self.client("dynamodb", ctx)
        name = self.name_for(ctx)
        with aws_errors(f"dynamodb:DeleteTable {name}"):
            try:
                ddb.delete_table(TableName=name)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                return
            ddb.get_waiter("table_not_exists").wait(
                TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
            )

    def _describe(self, ddb: Any, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"dynamodb:DescribeTable {name}"):
            try:
                table: dict[str, Any] = ddb.describe_table(TableName=name)["Table"]
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise
        return None if table.get("TableStatus") == "DELETING" else table

    def _create(self, ctx: ResourceContext, ddb: Any, name: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        keys = [("HASH", self._key(ctx, "hash_key", "id"), self._type(ctx, "hash_key_type"))]
        if ctx.params.get("range_key"):
            keys.append(("RANGE", str(ctx.params["range_key"]), self._type(ctx, "range_key_type")))
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": n, "KeyType": kind} for kind, n, _ in keys],
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for _, n, t in keys],
            "Tags": tag_list(self.tags_for(ctx)),
            **self._billing(ctx),
        }
        with aws_errors(f"dynamodb:CreateTable {name}"):
            try:
                ddb.create_table(**kwargs)
            except ClientError as exc:
                if error_code(exc) != "ResourceInUseException":
                    raise
            ddb.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
            )
            table: dict[str, Any] = ddb.describe_table(TableName=name)["Table"]
        return table

    def _update(self, ctx: ResourceContext, ddb: Any, table: dict[str, Any]) -> None:
        wanted = self._billing(ctx)
        current_mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        current_throughput = {
            k: table.get("ProvisionedThroughput", {}).get(k)
            for k in ("ReadCapacityUnits", "WriteCapacityUnits")
        }
        changed = wanted["BillingMode"] != current_mode or (
            wanted["BillingMode"] == "PROVISIONED"
            and wanted["ProvisionedThroughput"] != current_throughput
        )
        if changed:
            with aws_errors(f"dynamodb:UpdateTable {table['TableName']}"):
                ddb.update_table(TableName=table["TableName"], **wanted)

    def _billing(self, ctx: ResourceContext) -> dict[str, Any]:
        mode = str(ctx.params.get("billing_mode", "PAY_PER_REQUEST")).upper()
        if mode not in {"PAY_PER_REQUEST", "PROVISIONED"}:
            raise ResourceError(
                f"param billing_mode of {ctx.uid} must be PAY_PER_REQUEST or PROVISIONED"
            )
        if mode == "PAY_PER_REQUEST":
            return {"BillingMode": mode}
        return {
            "BillingMode": mode,
            "ProvisionedThroughput": {
                "ReadCapacityUnits": int_param(ctx, "read_capacity", 5),
                "WriteCapacityUnits": int_param(ctx, "write_capacity", 5),
            },
        }

    def _key(self, ctx: ResourceContext, param: str, default: str) -> str:
        return str(ctx.params.get(param) or default)

    def _type(self, ctx: ResourceContext, param: str) -> str:
        value = str(ctx.params.get(param, "S")).upper()
        if value not in _KEY_TYPES:
            raise ResourceError(f"param {param} of {ctx.uid} must be S, N or B, got {value!r}")
        return value

    def _outputs(self, ctx: ResourceContext, table: dict[str, Any]) -> Outputs:
        return {"name": table["TableName"], "arn": table["TableArn"], "region": self.region(ctx)}
