"""Physical names and tags for what podium-aws creates.

Names derive only from platform, environment and uid (plus the optional
prefix), so a create interrupted by a crash is found again by name. Each AWS
service has its own rules; callers pass the service's maximum length.
"""

from __future__ import annotations

import re

from podium.plugin import EnvironmentInfo
from podium_aws.settings import Settings

#: S3 bucket names and RDS identifiers both allow at most 63 characters.
S3_MAX = 63
RDS_MAX = 63
SQS_MAX = 80
DYNAMODB_MAX = 255
ECS_MAX = 255
IAM_ROLE_MAX = 64
IAM_USER_MAX = 64
ALARM_MAX = 255

#: A name every service accepts: starts with a letter, lowercase, single hyphens.
SAFE_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_TAG_UNSAFE = re.compile(r"[^\w\s+\-=.:/@]")


def physical_name(env: EnvironmentInfo, uid: str, settings: Settings, max_length: int) -> str:
    """Lowercase letters, digits and single hyphens, starting with a letter, ending in a hash.

    That shape satisfies S3 (3-63 lowercase), RDS (starts with a letter, no double
    or trailing hyphen), SQS, DynamoDB, ECS and IAM at once.
    """
    prefix = settings.name_prefix
    if prefix:
        return f"{prefix}-{env.physical_name(uid, max_length=max_length - len(prefix) - 1)}"
    return env.physical_name(uid, max_length=max_length)


def tag_value(value: str) -> str:
    """Make ``value`` acceptable as a tag value on every service (``#`` is not)."""
    return _TAG_UNSAFE.sub("/", value)[:256]


def standard_tags(
    settings: Settings, env: EnvironmentInfo, *, uid: str, workload: str | None
) -> dict[str, str]:
    tags = dict(settings.tags)
    tags.update(
        {
            "podium:platform": env.platform,
            "podium:environment": env.environment,
            "podium:resource-uid": tag_value(uid),
            "podium:managed-by": "podium-aws",
        }
    )
    if workload:
        tags["podium:workload"] = tag_value(workload)
    return tags


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """``[{"Key": k, "Value": v}]``, the shape most AWS APIs take."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def secret_name(settings: Settings, platform: str, *parts: str) -> str:
    """A Secrets Manager name under ``<secrets_prefix>/<platform>/``."""
    return "/".join([settings.secrets_prefix, platform, *parts])


def store_secret_name(
    settings: Settings, platform: str, key: str, environment: str | None = None
) -> str:
    """Where the ``aws-secretsmanager`` store (and keyed ``secret`` resources) keep ``key``:
    platform-wide under ``store/``, one environment's own value under ``env-store/<env>/``."""
    if environment is None:
        return secret_name(settings, platform, "store", key)
    return secret_name(settings, platform, "env-store", environment, key)
