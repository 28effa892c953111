"""Loading podium-aws must not cost boto3: only using an AWS registration imports it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from pydantic import ValidationError

from podium_aws.plugin import PODIUM_API, Settings

PROBE = """
import json, sys
import podium_aws.plugin as plugin
settings = plugin.Settings(region="us-east-1", endpoint_url="http://127.0.0.1:9")
provisioners = plugin.podium_provisioners(settings=settings)
deployers = plugin.podium_deployers(settings=settings)
stores = plugin.podium_secret_stores(settings=settings, platform_name="shop")
backends = plugin.podium_state_backends(settings=settings)
registered = sys.modules.get("boto3") is not None or sys.modules.get("botocore") is not None
names = [p.name for p in provisioners] + [d.name for d in deployers]
names += [s.name for s in stores] + [b.name for b in backends]
# Using one registration is what may pull boto3 in.
plugin.clients_for(settings).client("s3")
print(json.dumps({"registered_imports_boto3": registered, "names": names,
                  "used_imports_boto3": "boto3" in sys.modules}))
"""


def test_registration_does_not_import_boto3_but_use_does() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True)
    result = json.loads(done.stdout)
    assert result["registered_imports_boto3"] is False
    assert result["used_imports_boto3"] is True
    assert result["names"] == [
        "aws-s3",
        "aws-queue",
        "aws-sqs",
        "aws-dynamodb",
        "aws-rds-postgres",
        "aws-elasticache-redis",
        "aws-secret",
        "aws-ecs",
        "aws-secretsmanager",
        "s3",
    ]


def test_entry_point_and_api_range_are_declared() -> None:
    found = [ep for ep in entry_points(group="podium.plugins") if ep.name == "aws"]
    assert [ep.value for ep in found] == ["podium_aws.plugin"]
    assert PODIUM_API == ">=1.2,<2"


@pytest.mark.parametrize(
    ("field", "value"),
    [("name_prefix", "Bad_Prefix"), ("log_retention_days", 10), ("launch_type", "LAMBDA")],
)
def test_settings_reject_values_aws_would_refuse_later(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings.model_validate({field: value})
