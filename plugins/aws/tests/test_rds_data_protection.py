"""RDS keeps its data safe: a final snapshot on every delete, deletion protection in a
protected environment (issue 13, data-loss guard), against the moto server."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from podium_aws.clients import AwsClients
from podium_aws.provisioners.rds import RdsPostgresProvisioner
from podium_aws.settings import Settings


def _instance(boto: Any, identifier: str) -> dict[str, Any]:
    found = boto("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    return dict(found[0])


def _final_snapshots(boto: Any, identifier: str) -> list[str]:
    """Manual snapshots of the instance (moto also lists an automated one)."""
    found = boto("rds").describe_db_snapshots(
        DBInstanceIdentifier=identifier, SnapshotType="manual"
    )["DBSnapshots"]
    return [s["DBSnapshotIdentifier"] for s in found]


def test_protected_environment_sets_deletion_protection_and_delete_keeps_a_snapshot(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    podium_resource_context.env = replace(podium_resource_context.env, protect_data=True)
    provisioner = RdsPostgresProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="db")
    identifier = provisioner.create(ctx)["identifier"]
    assert _instance(boto, identifier)["DeletionProtection"] is True
    # a delete outside Podium is refused by AWS itself
    with pytest.raises(ClientError):
        boto("rds").delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)

    provisioner.delete(ctx)  # Podium's own (planned, consented) delete lifts the protection
    assert provisioner.read(ctx) is None
    (snapshot,) = _final_snapshots(boto, identifier)
    assert snapshot.startswith(f"{identifier}-final-")
    provisioner.delete(ctx)  # already gone: still fine


def test_unprotected_environment_has_no_deletion_protection_but_still_a_final_snapshot(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = RdsPostgresProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="db")
    identifier = provisioner.create(ctx)["identifier"]
    assert _instance(boto, identifier)["DeletionProtection"] is False
    provisioner.delete(ctx)
    (snapshot,) = _final_snapshots(boto, identifier)
    assert snapshot.startswith(f"{identifier}-final-")
