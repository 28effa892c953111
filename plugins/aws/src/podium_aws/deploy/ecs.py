"""``aws-ecs``: runs each workload as an ECS service.

One deploy = store secret variables in Secrets Manager, make sure the log group,
IAM role and cluster exist, register a task definition revision (only when it
differs from the running one) and point the service at it; ECS performs the
rolling update. Each release's ``task_definition_arn`` is recorded, so a
rollback just points the service back at that revision.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from podium.plugin import (
    ContainerStatus,
    DeployContext,
    Deployer,
    DeploymentResult,
    EnvironmentInfo,
    Finding,
    HealthState,
    LogLine,
    Release,
    RenderedWorkload,
    ResourceError,
    Workload,
    WorkloadStatus,
)
from podium_aws.clients import AwsClients, aws_errors, error_code, partition
from podium_aws.deploy.capabilities import ecs_findings
from podium_aws.deploy.iam import execution_policy, task_policy, trust_policy
from podium_aws.deploy.taskdef import container_definitions, secret_variables
from podium_aws.naming import (
    ECS_MAX,
    IAM_ROLE_MAX,
    physical_name,
    secret_name,
    standard_tags,
    tag_list,
)
from podium_aws.observability import (
    alarm_names,
    delete_alarms,
    delete_log_group,
    ensure_alarms,
    ensure_log_group,
    log_group_name,
    log_group_tags,
    tag_log_group,
)
from podium_aws.secretsmanager import SecretsManager
from podium_aws.settings import Settings

#: Workload annotations that set the number of tasks (the first found wins).
DESIRED_COUNT_ANNOTATIONS = ("podium.aws/desired-count", "podium/replicas")
_SPEC_TAG = "podium:spec-hash"
_POLICY_NAME = "podium-workload"
#: On the workload's log group (whose name has no prefix): the ``name_prefix`` its ECS
#: service, roles and task definitions were named with, so a prefix change finds them.
PREFIX_TAG = "podium:name-prefix"
_NO_PREFIX = "-"  # tag value for "no prefix" (a prefix never is "-")


@dataclass(frozen=True)
class _Names:
    service: str
    family: str
    role: str
    execution_role: str
    log_group: str
    secrets: str
    prefix: str


class EcsDeployer(Deployer):
    name = "aws-ecs"

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> list[Finding]:
        """Registry images only, no files, no volumes: said at plan time, with file:line."""
        return ecs_findings(workload, env)

    # --- names ---------------------------------------------------------------------
    def names(self, ctx: DeployContext, prefix: str | None = None) -> _Names:
        """The workload's AWS names under ``prefix`` (default: today's ``name_prefix``).

        The log group and the secret copies carry no prefix: they stay put when it changes.
        """
        env = ctx.env
        settings = self.settings
        if prefix is not None and prefix != settings.name_prefix:
            settings = settings.model_copy(update={"name_prefix": prefix})
        service = physical_name(env, ctx.workload, settings, ECS_MAX)
        return _Names(
            service=service,
            family=service,
            role=physical_name(env, ctx.workload, settings, IAM_ROLE_MAX),
            execution_role=physical_name(env, f"{ctx.workload}/execution", settings, IAM_ROLE_MAX),
            log_group=log_group_name(env.platform, env.environment, ctx.workload),
            secrets=secret_name(
                self.settings, env.platform, env.environment, "workloads", ctx.workload
            ),
            prefix=settings.name_prefix,
        )

    def _previous_names(
        self, ctx: DeployContext, names: _Names, log_tags: dict[str, str] | None = None
    ) -> _Names | None:
        """The names of a deployment made under another ``name_prefix``, if one exists.

        The log group remembers the prefix the workload was deployed with; ``None``
        when it is today's (or unknown: a log group from before podium-aws tagged it).
        """
        tags = log_tags if log_tags is not None else log_group_tags(self.clients, names.log_group)
        recorded = (tags or {}).get(PREFIX_TAG)
        if recorded is None:
            return None
        prefix = "" if recorded == _NO_PREFIX else recorded
        return None if prefix == names.prefix else self.names(ctx, prefix)

    @property
    def _ecs(self) -> Any:
        return self.clients.client("ecs")

    # --- deploy ------------------------------------------------------------------------
    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        names = self.names(ctx)
        tags = standard_tags(
            self.settings, ctx.env, uid=f"deployment:{ctx.workload}", workload=ctx.workload
        )
        region = self.clients.region()
        desired = self._desired_count(workload)
        log_tags = log_group_tags(self.clients, names.log_group)
        previous = self._previous_names(ctx, names, log_tags)
        cluster = self._ensure_cluster(tags)
        log_group_arn = ensure_log_group(
            self.clients,
            names.log_group,
            self.settings.log_retention_days,
            {**tags, PREFIX_TAG: names.prefix or _NO_PREFIX},
        )
        secret_refs, secret_arns = self._store_secrets(workload, names, tags)
        account = self.clients.account_id()
        part = partition(region)
        task_policy_doc = task_policy(workload, partition=part)
        role_arn = self._ensure_role(
            names.role, f"podium workload {workload.name}", account, task_policy_doc, tags
        )
        execution_role_arn = self._ensure_role(
            names.execution_role,
            f"podium: ECS starting workload {workload.name}",
            account,
            execution_policy(workload, log_group_arn=log_group_arn, secret_arns=secret_arns),
            tags,
        )
        definitions = container_definitions(
            workload, secret_refs=secret_refs, log_group=names.log_group, region=region
        )
        task_def_arn = self._task_definition(names, role_arn, execution_role_arn, definitions, tags)
        service_arn = self._upsert_service(cluster, names, task_def_arn, desired, tags)
        if previous is not None:
            # name_prefix changed: the new service runs, so the old one goes (service last),
            # and only then does the log group forget the old prefix (a crash in between is
            # finished by the next deploy or destroy).
            self._remove_named(previous)
        prefix_tag = names.prefix or _NO_PREFIX
        if log_tags is not None and log_tags.get(PREFIX_TAG) != prefix_tag:
            tag_log_group(self.clients, names.log_group, {PREFIX_TAG: prefix_tag})
        alarms = (
            ensure_alarms(
                self.clients,
                cluster=cluster,
                service=names.service,
                cpu_threshold=self.settings.cpu_alarm_threshold,
                tags=tags,
            )
            if self.settings.alarms
            else []
        )
        return DeploymentResult(
            outputs={
                "provider": self.name,
                "cluster": cluster,
                "service_name": names.service,
                "service_arn": service_arn,
                "task_definition_arn": task_def_arn,
                "role_arn": role_arn,
                "execution_role_arn": execution_role_arn,
                "log_group": names.log_group,
                "alarms": alarms,
                "desired_count": desired,
                "region": region,
            },
            message=f"ECS service {names.service} on {cluster} runs "
            f"{task_def_arn.rsplit('/', 1)[-1]} with {desired} task(s)",
        )

    def _desired_count(self, workload: RenderedWorkload) -> int:
        for key in DESIRED_COUNT_ANNOTATIONS:
            if key in workload.annotations:
                value = workload.annotations[key]
                if not value.isdigit():
                    raise ResourceError(
                        f"workload {workload.name}: annotation {key} must be a whole number, "
                        f"got {value!r}"
                    )
                return int(value)
        return self.settings.desired_count

    def _ensure_cluster(self, tags: dict[str, str]) -> str:
        name = self.settings.ecs_cluster
        with aws_errors(f"ecs:DescribeClusters {name}"):
            found = self._ecs.describe_clusters(clusters=[name])["clusters"]
            if any(c["status"] == "ACTIVE" for c in found):
                return name
            if not self.settings.create_cluster:
                raise ResourceError(
                    f"ECS cluster {name} does not exist",
                    hint="create it, or set [plugins.aws] create_cluster = true",
                )
            self._ecs.create_cluster(clusterName=name, tags=_ecs_tags(tags))
        return name

    def _store_secrets(
        self, workload: RenderedWorkload, names: _Names, tags: dict[str, str]
    ) -> tuple[dict[tuple[str, str], str], list[str]]:
        """Put each secret variable in Secrets Manager; return valueFrom references and ARNs.

        References pin the version, so an old task definition (a rollback) reads
        the value it was deployed with, not today's.
        """
        store = SecretsManager(self.clients)
        refs: dict[tuple[str, str], str] = {}
        arns: list[str] = []
        for container, var, value in secret_variables(workload):
            stored = store.write(
                f"{names.secrets}/{container}/{var}",
                value,
                tags=tags,
                description=f"podium: {var} of {workload.name}/{container}",
            )
            refs[(container, var)] = f"{stored.arn}:::{stored.version_id}"
            arns.append(stored.arn)
        return refs, arns

    def _ensure_role(
        self,
        role: str,
        description: str,
        account: str,
        policy: dict[str, Any] | None,
        tags: dict[str, str],
    ) -> str:
        """Create or adopt ``role`` with the trust policy and exactly ``policy`` inline."""
        from botocore.exceptions import ClientError

        iam = self.clients.client("iam")
        trust = json.dumps(trust_policy(account))
        with aws_errors(f"iam:CreateRole {role}"):
            try:
                found = iam.get_role(RoleName=role)["Role"]
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
                found = iam.create_role(
                    RoleName=role,
                    AssumeRolePolicyDocument=trust,
                    Description=description,
                    Tags=tag_list(tags),
                )["Role"]
            else:
                if _document(found.get("AssumeRolePolicyDocument")) != json.loads(trust):
                    # An older or edited trust policy (no aws:SourceAccount): bring it back.
                    iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust)
            if policy is not None:
                iam.put_role_policy(
                    RoleName=role, PolicyName=_POLICY_NAME, PolicyDocument=json.dumps(policy)
                )
            else:
                try:
                    iam.delete_role_policy(RoleName=role, PolicyName=_POLICY_NAME)
                except ClientError as exc:
                    if error_code(exc) != "NoSuchEntity":
                        raise
        return str(found["Arn"])

    def _task_definition(
        self,
        names: _Names,
        role_arn: str,
        execution_role_arn: str,
        definitions: list[dict[str, Any]],
        tags: dict[str, str],
    ) -> str:
        request: dict[str, Any] = {
            "family": names.family,
            "taskRoleArn": role_arn,
            "executionRoleArn": execution_role_arn,
            "networkMode": "awsvpc",
            "requiresCompatibilities": [self.settings.launch_type],
            "cpu": self.settings.task_cpu,
            "memory": self.settings.task_memory,
            "containerDefinitions": definitions,
        }
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:32]
        current = self._current_task_definition(names)
        if current is not None and current[1] == digest:
            return current[0]
        with aws_errors(f"ecs:RegisterTaskDefinition {names.family}"):
            made = self._ecs.register_task_definition(
                **request, tags=_ecs_tags({**tags, _SPEC_TAG: digest})
            )
        return str(made["taskDefinition"]["taskDefinitionArn"])

    def _current_task_definition(self, names: _Names) -> tuple[str, str] | None:
        """The service's task definition ARN and its spec hash, if the service runs."""
        service = self._service(names)
        if service is None:
            return None
        with aws_errors(f"ecs:DescribeTaskDefinition {service['taskDefinition']}"):
            described = self._ecs.describe_task_definition(
                taskDefinition=service["taskDefinition"], include=["TAGS"]
            )
        tags = {t["key"]: t["value"] for t in described.get("tags", [])}
        return str(described["taskDefinition"]["taskDefinitionArn"]), tags.get(_SPEC_TAG, "")

    def _service(self, names: _Names) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"ecs:DescribeServices {names.service}"):
            try:
                found = self._ecs.describe_services(
                    cluster=self.settings.ecs_cluster, services=[names.service]
                )["services"]
            except ClientError as exc:
                if error_code(exc) == "ClusterNotFoundException":
                    return None
                raise
        # A DRAINING service is being deleted (the last step of a destroy).
        live = [s for s in found if s.get("status") not in {"INACTIVE", "DRAINING"}]
        return dict(live[0]) if live else None

    def _upsert_service(
        self, cluster: str, names: _Names, task_def_arn: str, desired: int, tags: dict[str, str]
    ) -> str:
        network: dict[str, Any] = {}
        if self.settings.subnets:
            network["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": self.settings.subnets,
                    "securityGroups": self.settings.security_groups,
                    "assignPublicIp": "ENABLED" if self.settings.assign_public_ip else "DISABLED",
                }
            }
        rolling = {
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": {"enable": True, "rollback": False},
        }
        existing = self._service(names)
        action = "UpdateService" if existing is not None else "CreateService"
        with aws_errors(f"ecs:{action} {names.service}"):
            if existing is not None:
                updated = self._ecs.update_service(
                    cluster=cluster,
                    service=names.service,
                    taskDefinition=task_def_arn,
                    desiredCount=desired,
                    deploymentConfiguration=rolling,
                    **network,
                )
                return str(updated["service"]["serviceArn"])
            created = self._ecs.create_service(
                cluster=cluster,
                serviceName=names.service,
                taskDefinition=task_def_arn,
                desiredCount=desired,
                launchType=self.settings.launch_type,
                deploymentConfiguration=rolling,
                propagateTags="SERVICE",
                tags=_ecs_tags(tags),
                **network,
            )
        return str(created["service"]["serviceArn"])

    # --- status and logs -------------------------------------------------------------
    def status(self, ctx: DeployContext) -> WorkloadStatus:
        names = self.names(ctx)
        log_tags = log_group_tags(self.clients, names.log_group)
        previous = self._previous_names(ctx, names, log_tags)
        service = self._service(names)
        moved = None
        if previous is not None and (old := self._service(previous)) is not None:
            service = old
            moved = (
                f"name_prefix changed from {previous.prefix!r} to {names.prefix!r}: ECS service "
                f"{previous.service} is replaced by {names.service} on the next deploy"
            )
        if service is None:
            if log_tags is not None:
                # What a destroy removes before the service (and the log group last) is
                # partly there: not absent, so an interrupted destroy is planned again.
                return WorkloadStatus(
                    workload=ctx.workload,
                    state="down",
                    message="no ECS service, but its log group remains",
                    redeploy=True,
                )
            return WorkloadStatus(workload=ctx.workload, state="absent", message="no ECS service")
        running = int(service.get("runningCount", 0))
        desired = int(service.get("desiredCount", 0))
        state: HealthState
        if desired == 0:
            state, message = "down", "scaled to zero tasks"
        else:
            state = "ready" if running >= desired else "partial" if running > 0 else "down"
            message = f"{running}/{desired} tasks running"
        rollout = [d.get("rolloutState") for d in service.get("deployments", [])]
        if "IN_PROGRESS" in rollout:
            message += ", rolling update in progress"
        if "FAILED" in rollout:
            message += ", last rollout failed"
        containers = {
            name: ContainerStatus(state=state, message=message)
            for name in self._container_names(service["taskDefinition"])
        }
        return WorkloadStatus(
            workload=ctx.workload,
            state=state,
            message=f"{message}; {moved}" if moved else message,
            containers=containers,
            # ECS starts missing tasks by itself; a deploy only restores a desired count of 0
            # (or moves the workload to its new names).
            redeploy=desired == 0 or moved is not None,
        )

    def _container_names(self, task_def_arn: str) -> list[str]:
        with aws_errors(f"ecs:DescribeTaskDefinition {task_def_arn}"):
            described = self._ecs.describe_task_definition(taskDefinition=task_def_arn)
        return [c["name"] for c in described["taskDefinition"]["containerDefinitions"]]

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        """Read the workload's log group; awslogs streams are ``<workload>/<container>/<task>``."""
        names = self.names(ctx)
        prefix = f"{ctx.workload}/{container}/" if container else f"{ctx.workload}/"
        lines, seen, start = self._events(names.log_group, prefix, 0)
        if tail is not None:
            lines = lines[-tail:] if tail else []
        yield from lines
        while follow:
            time.sleep(2.0)
            more, new_seen, start = self._events(names.log_group, prefix, start, seen)
            seen |= new_seen
            yield from more

    def _events(
        self, group: str, prefix: str, start: int, seen: set[str] | None = None
    ) -> tuple[list[LogLine], set[str], int]:
        from botocore.exceptions import ClientError

        logs = self.clients.client("logs")
        seen = set(seen or ())
        fresh: set[str] = set()
        lines: list[LogLine] = []
        latest = start
        with aws_errors(f"logs:FilterLogEvents {group}"):
            try:
                pages = logs.get_paginator("filter_log_events").paginate(
                    logGroupName=group, logStreamNamePrefix=prefix, startTime=start
                )
                # Filter by stream here too: not every implementation honours the prefix.
                events = [
                    e
                    for page in pages
                    for e in page.get("events", [])
                    if e.get("logStreamName", "").startswith(prefix)
                ]
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return [], fresh, start
                raise
        for event in sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", ""))):
            if event.get("eventId") in seen:
                continue
            fresh.add(event.get("eventId", ""))
            parts = event.get("logStreamName", "").split("/")
            lines.append(
                LogLine(
                    container=parts[1] if len(parts) > 1 else "",
                    text=event["message"].rstrip("\n"),
                    timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, UTC),
                )
            )
            latest = max(latest, int(event["timestamp"]))
        return lines, fresh, latest

    # --- rollback and destroy ----------------------------------------------------------
    def rollback(self, ctx: DeployContext, release: Release) -> DeploymentResult:
        """Point the service back at the release's task definition revision.

        Falls back to deploying the release's workload again when that revision
        or the service no longer exists (after a destroy, say).
        """
        arn = release.outputs.get("task_definition_arn")
        names = self.names(ctx)
        service = self._service(names)
        if not arn or service is None or not self._task_definition_active(str(arn)):
            return self.deploy(ctx, release.workload)
        desired = self._desired_count(release.workload)
        with aws_errors(f"ecs:UpdateService {names.service}"):
            self._ecs.update_service(
                cluster=self.settings.ecs_cluster,
                service=names.service,
                taskDefinition=arn,
                desiredCount=desired,
            )
        outputs = dict(release.outputs)
        outputs.update(task_definition_arn=arn, desired_count=desired)
        return DeploymentResult(
            outputs=outputs,
            message=f"ECS service {names.service} rolled back to {str(arn).rsplit('/', 1)[-1]} "
            f"(release {release.number})",
        )

    def _task_definition_active(self, arn: str) -> bool:
        from botocore.exceptions import ClientError

        with aws_errors(f"ecs:DescribeTaskDefinition {arn}"):
            try:
                described = self._ecs.describe_task_definition(taskDefinition=arn)
            except ClientError as exc:
                if error_code(exc) in {"ClientException", "InvalidParameterException"}:
                    return False
                raise
        return bool(described["taskDefinition"].get("status") == "ACTIVE")

    def destroy(self, ctx: DeployContext) -> None:
        """Remove everything the workload has in AWS; safe to run again after any crash.

        The order keeps :meth:`status` from saying ``absent`` while anything is left,
        so the engine plans an interrupted destroy again instead of forgetting it:
        the services are scaled to zero first and deleted after their task
        definitions, alarms and roles; then the secret copies; the log group (which
        ``status`` looks for when no service is left, and which remembers an earlier
        ``name_prefix``) goes last.
        """
        names = self.names(ctx)
        sets = [n for n in (self._previous_names(ctx, names), names) if n is not None]
        for each in sets:
            self._scale_to_zero(each)
        for each in sets:
            self._remove_named(each)
        store = SecretsManager(self.clients)
        for name in store.names(names.secrets + "/"):
            store.delete(name)
        delete_log_group(self.clients, names.log_group)

    def _scale_to_zero(self, names: _Names) -> None:
        from botocore.exceptions import ClientError

        if self._service(names) is None:
            return
        with aws_errors(f"ecs:UpdateService {names.service}"):
            try:
                self._ecs.update_service(
                    cluster=self.settings.ecs_cluster, service=names.service, desiredCount=0
                )
            except ClientError as exc:
                if error_code(exc) not in {"ServiceNotFoundException", "ServiceNotActiveException"}:
                    raise

    def _remove_named(self, names: _Names) -> None:
        """Delete what carries the prefixed names: task definitions, alarms, roles, then
        the service itself (last, so a crash leaves it to be found by name again)."""
        from botocore.exceptions import ClientError

        self._deregister_family(names.family)
        delete_alarms(self.clients, alarm_names(names.service))
        self._delete_role(names.execution_role)
        self._delete_role(names.role)
        if self._service(names) is None:
            return
        with aws_errors(f"ecs:DeleteService {names.service}"):
            try:
                self._ecs.delete_service(
                    cluster=self.settings.ecs_cluster, service=names.service, force=True
                )
            except ClientError as exc:
                if error_code(exc) not in {"ServiceNotFoundException", "ServiceNotActiveException"}:
                    raise

    def _deregister_family(self, family: str) -> None:
        with aws_errors(f"ecs:DeregisterTaskDefinition {family}"):
            pages = self._ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=family, status="ACTIVE"
            )
            for page in pages:
                for arn in page.get("taskDefinitionArns", []):
                    # familyPrefix is a prefix match: leave other families alone.
                    if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family:
                        self._ecs.deregister_task_definition(taskDefinition=arn)

    def _delete_role(self, role: str) -> None:
        from botocore.exceptions import ClientError

        iam = self.clients.client("iam")
        with aws_errors(f"iam:DeleteRole {role}"):
            try:
                for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                    iam.delete_role_policy(RoleName=role, PolicyName=policy)
                iam.delete_role(RoleName=role)
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise


def _ecs_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    """ECS spells tag keys in lowercase: ``[{"key": k, "value": v}]``."""
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def _document(value: Any) -> Any:
    """A policy document as IAM returns it (a dict, or URL-encoded JSON text) as a dict."""
    if isinstance(value, str):
        from urllib.parse import unquote

        return json.loads(unquote(value))
    return value
