"""``[plugins.aws]`` settings, validated by pydantic when the platform loads the plugin."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

_PREFIX = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$")


class Settings(BaseModel):
    """How podium-aws reaches AWS and names, tags and sizes what it creates.

    Credentials are never settings: boto3's standard chain (environment variables,
    ``profile``, SSO, instance or task roles) provides them.
    """

    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(
        default=None, description="AWS region; default: boto3's (AWS_REGION...)."
    )
    endpoint_url: str | None = Field(
        default=None, description="Endpoint for every service: moto, LocalStack or a VPC endpoint."
    )
    profile: str | None = Field(default=None, description="Named profile from ~/.aws/config.")
    tags: dict[str, str] = Field(
        default_factory=dict, description="Tags added to everything podium-aws creates."
    )
    name_prefix: str = Field(
        default="",
        max_length=16,
        description="Prefix for physical names (lowercase, digits, hyphens).",
    )
    log_retention_days: int = Field(
        default=30, description="Retention of each workload's log group."
    )
    ecs_cluster: str = Field(default="podium", description="ECS cluster that runs workloads.")
    create_cluster: bool = Field(
        default=True, description="Create the ECS cluster when it is missing."
    )
    launch_type: Literal["FARGATE", "EC2"] = Field(
        default="FARGATE", description="ECS launch type."
    )
    subnets: list[str] = Field(default_factory=list, description="Subnets for awsvpc tasks.")
    security_groups: list[str] = Field(default_factory=list, description="Task security groups.")
    assign_public_ip: bool = Field(default=False, description="Give Fargate tasks a public IP.")
    desired_count: int = Field(default=1, ge=0, description="Tasks per service unless annotated.")
    task_cpu: str = Field(default="256", description="Task CPU units (Fargate sizes).")
    task_memory: str = Field(default="512", description="Task memory in MiB (Fargate sizes).")
    alarms: bool = Field(default=True, description="Create CloudWatch alarms for each service.")
    cpu_alarm_threshold: float = Field(
        default=80.0, gt=0, le=100, description="CPU alarm, percent."
    )
    rds_instance_class: str = Field(
        default="db.t3.micro", description="Default RDS instance class."
    )
    rds_allocated_storage: int = Field(default=20, ge=20, description="Default RDS storage in GiB.")
    secrets_prefix: str = Field(
        default="podium",
        description="Secrets Manager names start with <secrets_prefix>/<platform>/.",
    )

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not _PREFIX.match(value):
            raise ValueError(
                "name_prefix must start with a lowercase letter and hold only lowercase "
                "letters, digits and single hyphens (it becomes part of bucket and DB names)"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
            raise ValueError(f"CloudWatch Logs accepts only these retention days: {allowed}")
        return value
