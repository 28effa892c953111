"""``redis``: an ElastiCache for Redis replication group with TLS and an AUTH token."""

from __future__ import annotations

import hashlib
import secrets as _random
import string
from typing import Any

from podium.plugin import Output, Outputs, Param, ResourceContext, Secret, TransientError
from podium_aws.clients import aws_errors, error_code
from podium_aws.naming import tag_list
from podium_aws.provisioners.base import AwsParams, AwsProvisioner, int_param

#: Replication group ids: at most 40 characters, a letter first, single hyphens.
REPLICATION_GROUP_MAX = 40
_NOT_FOUND = "ReplicationGroupNotFoundFault"
_GONE = {"deleting", "deleted"}
_WAIT = {"Delay": 15, "MaxAttempts": 120}
_TOKEN_TAG = "podium:auth-token-fingerprint"


def _fingerprint(token: Secret) -> str:
    """A digest that tells whether the group has this token (it is random: no leak)."""
    return hashlib.sha256(b"podium-elasticache:" + token.reveal().encode()).hexdigest()[:16]


def _auth_token() -> str:
    # AUTH tokens: 16-128 printable characters, and not @, " or /.
    alphabet = string.ascii_letters + string.digits
    return "".join(_random.choice(alphabet) for _ in range(40))


class RedisParams(AwsParams):
    node_type: str | None = Param(None, description="The node type (default cache.t4g.micro).")
    # Changing the replica count in place needs IncreaseReplicaCount/DecreaseReplicaCount,
    # which the test double (moto) lacks: until it can be tested, a change is a replacement
    # the plan shows, never an "update" that calls nothing.
    replicas: int | None = Param(
        None,
        forces_replacement=True,
        description="Read replicas besides the primary (default 0); a change replaces the group.",
    )


class ElastiCacheRedisProvisioner(AwsProvisioner):
    name = "aws-elasticache-redis"
    resource_type = "redis"
    holds_data = True
    params_model = RedisParams
    output_fields = {
        "host": Output("The primary endpoint's address (TLS)."),
        "port": Output("Its port.", type=int),
        "username": Output("The user to AUTH as (default)."),
        "password": Output("The AUTH token.", sensitive=True),
        "key_prefix": Output("Empty: the replication group serves this resource alone."),
        "arn": Output("The replication group's ARN."),
    }
    max_name_length = REPLICATION_GROUP_MAX

    def create(self, ctx: ResourceContext) -> Outputs:
        self.check_params(ctx)
        ec = self.client("elasticache", ctx)
        group_id = self.name_for(ctx)
        password = ctx.generate_secret("password", _auth_token)
        group = self._describe(ec, group_id)
        if group is not None and group["Status"] in _GONE:
            raise TransientError(f"replication group {group_id} is still being deleted")
        node_type = str(ctx.params.get("node_type") or "cache.t4g.micro")
        if group is None:
            from botocore.exceptions import ClientError

            with aws_errors(f"elasticache:CreateReplicationGroup {group_id}"):
                try:
                    ec.create_replication_group(
                        ReplicationGroupId=group_id,
                        ReplicationGroupDescription=f"podium {ctx.uid}",
                        Engine="redis",
                        CacheNodeType=node_type,
                        NumCacheClusters=1 + (int_param(ctx, "replicas", 0) or 0),
                        TransitEncryptionEnabled=True,
                        AtRestEncryptionEnabled=True,
                        AuthToken=password.reveal(),
                        Tags=tag_list({**self.tags_for(ctx), _TOKEN_TAG: _fingerprint(password)}),
                    )
                except ClientError as exc:
                    if error_code(exc) != "ReplicationGroupAlreadyExistsFault":
                        raise
        else:
            # A group can only be modified once it is available (an adopted one may not be).
            self._wait_available(ec, group_id)
            self._modify(ec, group, node_type, password)
        self._wait_available(ec, group_id)
        found = self._describe(ec, group_id)
        if found is None:
            raise TransientError(f"replication group {group_id} vanished while being created")
        return self._outputs(ctx, found)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        group = self._describe(self.client("elasticache", ctx), self.name_for(ctx))
        if group is None or group["Status"] in _GONE:
            return None
        return self._outputs(ctx, group)

    def update(self, ctx: ResourceContext, previous: Any) -> Outputs:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        from botocore.exceptions import ClientError

        ec = self.client("elasticache", ctx)
        group_id = self.name_for(ctx)
        group = self._describe(ec, group_id)
        if group is None or group["Status"] in _GONE:
            return
        with aws_errors(f"elasticache:DeleteReplicationGroup {group_id}"):
            try:
                ec.delete_replication_group(ReplicationGroupId=group_id)
            except ClientError as exc:
                if error_code(exc) != _NOT_FOUND:
                    raise

    def _wait_available(self, ec: Any, group_id: str) -> None:
        with aws_errors(f"elasticache:waiting for {group_id}"):
            ec.get_waiter("replication_group_available").wait(
                ReplicationGroupId=group_id, WaiterConfig=_WAIT
            )

    def _modify(self, ec: Any, group: dict[str, Any], node_type: str, password: Secret) -> None:
        """Bring an existing (or adopted) group to the params and to the token podium holds.

        The group is tagged with a fingerprint of its AUTH token; an adopted group whose
        fingerprint differs (made elsewhere, or its record and generated token lost)
        gets the token podium now outputs, so the outputs are true. ``ROTATE`` keeps
        clients connected with the old token working while they move over.
        """
        group_id = group["ReplicationGroupId"]
        changes: dict[str, Any] = {}
        if group.get("CacheNodeType") != node_type:
            changes["CacheNodeType"] = node_type
        with aws_errors(f"elasticache:ListTagsForResource {group_id}"):
            tags = ec.list_tags_for_resource(ResourceName=group["ARN"]).get("TagList", [])
        fingerprint = _fingerprint(password)
        if {t["Key"]: t["Value"] for t in tags}.get(_TOKEN_TAG) != fingerprint:
            changes.update(AuthToken=password.reveal(), AuthTokenUpdateStrategy="ROTATE")
        if not changes:
            return
        with aws_errors(f"elasticache:ModifyReplicationGroup {group_id}"):
            ec.modify_replication_group(
                ReplicationGroupId=group_id, ApplyImmediately=True, **changes
            )
            ec.add_tags_to_resource(
                ResourceName=group["ARN"], Tags=[{"Key": _TOKEN_TAG, "Value": fingerprint}]
            )

    def _describe(self, ec: Any, group_id: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"elasticache:DescribeReplicationGroups {group_id}"):
            try:
                groups = ec.describe_replication_groups(ReplicationGroupId=group_id)
            except ClientError as exc:
                if error_code(exc) == _NOT_FOUND:
                    return None
                raise
        found = groups.get("ReplicationGroups", [])
        return dict(found[0]) if found else None

    def _outputs(self, ctx: ResourceContext, group: dict[str, Any]) -> Outputs:
        primary = (group.get("NodeGroups") or [{}])[0].get("PrimaryEndpoint") or {}
        return {
            "host": primary.get("Address", ""),
            "port": int(primary.get("Port", 6379)),
            "username": "default",
            "password": ctx.generate_secret("password", _auth_token),
            # The same Score file runs on podium-local, whose shared servers give each user a
            # key prefix; a replication group serves one resource alone, so its prefix is empty.
            "key_prefix": "",
            "arn": group.get("ARN", ""),
        }
