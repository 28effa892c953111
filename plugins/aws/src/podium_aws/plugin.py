"""The podium-aws plugin module (entry point ``aws`` in group ``podium.plugins``).

Registration creates small objects around a lazy :class:`AwsClients`; boto3 is
imported the first time one of them talks to AWS, never here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from podium.plugin import (
    Deployer,
    DeploymentResult,
    EnvironmentInfo,
    Provisioner,
    RenderedWorkload,
    SecretStore,
    StateBackend,
    TelemetryConfig,
    hookimpl,
)
from podium_aws.clients import AwsClients
from podium_aws.settings import Settings

PODIUM_API = ">=1.2,<2"

__all__ = ["PODIUM_API", "Settings", "clients_for"]

_lock = threading.Lock()
# Keyed by the settings object's identity (pydantic models are not hashable); the
# settings are kept alongside so an id is never reused while its entry lives.
_clients: dict[int, tuple[Settings, AwsClients]] = {}


def clients_for(settings: Settings | None) -> AwsClients:
    """The shared lazy client factory for one platform's ``[plugins.aws]`` settings."""
    resolved = settings if settings is not None else Settings()
    with _lock:
        entry = _clients.get(id(resolved))
        if entry is None:
            entry = (resolved, AwsClients(resolved))
            _clients[id(resolved)] = entry
        return entry[1]


@hookimpl
def podium_provisioners(settings: Settings | None) -> Iterable[Provisioner]:
    from podium_aws.provisioners.dynamodb import DynamoDbTableProvisioner
    from podium_aws.provisioners.elasticache import ElastiCacheRedisProvisioner
    from podium_aws.provisioners.rds import RdsPostgresProvisioner
    from podium_aws.provisioners.s3 import S3BucketProvisioner
    from podium_aws.provisioners.secret import SecretsManagerSecretProvisioner
    from podium_aws.provisioners.sqs import SqsProvisioner, SqsQueueProvisioner

    clients = clients_for(settings)
    return [
        cls(clients.settings, clients)
        for cls in (
            S3BucketProvisioner,
            SqsQueueProvisioner,
            SqsProvisioner,
            DynamoDbTableProvisioner,
            RdsPostgresProvisioner,
            ElastiCacheRedisProvisioner,
            SecretsManagerSecretProvisioner,
        )
    ]


@hookimpl
def podium_deployers(settings: Settings | None) -> Iterable[Deployer]:
    from podium_aws.deploy.ecs import EcsDeployer

    clients = clients_for(settings)
    return [EcsDeployer(clients.settings, clients)]


@hookimpl
def podium_secret_stores(settings: Settings | None, platform_name: str) -> Iterable[SecretStore]:
    from podium_aws.secretstore import SecretsManagerStore

    clients = clients_for(settings)
    return [SecretsManagerStore(clients.settings, clients, platform_name)]


@hookimpl
def podium_state_backends(settings: Settings | None) -> Iterable[StateBackend]:
    from podium_aws.state import S3StateBackend

    clients = clients_for(settings)
    return [S3StateBackend(clients.settings, clients)]


@hookimpl
def podium_configure_telemetry(
    workload: RenderedWorkload, deployment: DeploymentResult, env: EnvironmentInfo
) -> TelemetryConfig | None:
    """Report the CloudWatch log group and alarms ``aws-ecs`` set up while deploying.

    The deployer creates them itself (the service cannot start without its log
    group), so this hook only describes them, and stays silent for other deployers.
    """
    outputs: dict[str, Any] = deployment.outputs
    if outputs.get("provider") != "aws-ecs":
        return None
    alarms = list(outputs.get("alarms", []))
    return TelemetryConfig(
        provider="aws-cloudwatch",
        description=f"logs in {outputs.get('log_group')}, {len(alarms)} CloudWatch alarm(s)",
        outputs={"log_group": outputs.get("log_group"), "alarms": alarms},
    )
