"""The AWS provisioners' resource schemas: the same params, flags and outputs as before the
schemas existed, checked at validate with what apply would have refused later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from podium.plugin import ResourceError, resource_schema
from podium_aws.provisioners.base import bool_param, int_param
from podium_aws.provisioners.dynamodb import DynamoDbTableProvisioner
from podium_aws.provisioners.elasticache import ElastiCacheRedisProvisioner
from podium_aws.provisioners.rds import RdsPostgresProvisioner
from podium_aws.provisioners.s3 import S3BucketProvisioner
from podium_aws.provisioners.secret import SecretsManagerSecretProvisioner
from podium_aws.provisioners.sqs import SqsProvisioner, SqsQueueProvisioner

_S3_KEYS = ("access_key_id", "secret_key", "aws_access_key_id", "aws_secret_key")
_QUEUE = {
    "fifo",
    "visibility_timeout",
    "message_retention_seconds",
    "delay_seconds",
    "receive_wait_seconds",
    "max_message_size",
}

#: What each provisioner declared in 0.1: known params (besides region), outputs,
#: secret outputs, params forcing replacement. The schemas must keep all of it.
BEFORE: dict[type[Any], tuple[set[str], tuple[str, ...], set[str], set[str]]] = {
    S3BucketProvisioner: (
        {"versioning", "access_keys", "force_destroy"},
        ("bucket", "endpoint", "region", "arn", *_S3_KEYS),
        set(_S3_KEYS),
        {"region"},
    ),
    SqsQueueProvisioner: (_QUEUE, ("url", "arn", "name", "region"), set(), {"fifo", "region"}),
    SqsProvisioner: (_QUEUE, ("url", "arn", "name", "region"), set(), {"fifo", "region"}),
    DynamoDbTableProvisioner: (
        {
            "hash_key",
            "hash_key_type",
            "range_key",
            "range_key_type",
            "billing_mode",
            "read_capacity",
            "write_capacity",
            "point_in_time_recovery",  # issue 14: on by default in protected environments
        },
        ("name", "arn", "region"),
        set(),
        {"hash_key", "hash_key_type", "range_key", "range_key_type", "region"},
    ),
    RdsPostgresProvisioner: (
        {
            "instance_class",
            "allocated_storage",
            "engine_version",
            "database",
            "username",
            "multi_az",
            "backup_retention_days",
            "publicly_accessible",
        },
        ("host", "port", "name", "database", "username", "password", "arn", "identifier"),
        {"password"},
        {"database", "username", "region"},
    ),
    ElastiCacheRedisProvisioner: (
        {"node_type", "replicas"},
        ("host", "port", "username", "password", "key_prefix", "arn"),
        {"password"},
        {"region", "replicas"},  # replicas: issue 13, never an update that calls nothing
    ),
    SecretsManagerSecretProvisioner: (
        {"key", "generate", "length"},
        ("value", "arn", "name"),
        {"value"},
        {"key", "region", "length"},  # length: issue 13, a new length is a new value
    ),
}


@pytest.mark.parametrize("cls", list(BEFORE), ids=lambda c: c.name)
def test_schemas_keep_the_01_declarations(cls: type[Any]) -> None:
    known, outputs, secret, replace = BEFORE[cls]
    schema = resource_schema(cls)
    assert {p.name for p in schema.params()} == known | {"region"}
    assert tuple(schema.outputs) == outputs
    assert schema.sensitive_outputs == secret
    assert schema.forces_replacement == replace
    assert schema.unknown_params == "refused"
    # Code that reads the 0.1 attributes sees the same.
    assert cls.outputs == outputs and cls.secret_outputs == secret and cls.replace_on == replace


def test_s3_key_outputs_are_optional() -> None:
    """Without access_keys the bucket has no key outputs: the kit must not demand them."""
    schema = resource_schema(S3BucketProvisioner)
    assert schema.required_outputs == {"bucket", "endpoint", "region", "arn"}


def _ctx(**params: Any) -> Any:
    return SimpleNamespace(params=params, uid="s3.default#web.bucket")


FLAG_INPUTS = [True, False, "true", "False", "TRUE", "yes", "on", 1, 0, "1", None, 2.0, [True]]


@pytest.mark.parametrize("value", FLAG_INPUTS, ids=repr)
def test_a_flag_param_accepts_what_apply_accepts(value: Any) -> None:
    """validate must refuse exactly what bool_param would refuse at apply, and agree on the rest."""
    try:
        at_apply: bool | None = bool_param(_ctx(force_destroy=value), "force_destroy", False)
    except ResourceError:
        at_apply = None
    problems = resource_schema(S3BucketProvisioner).check_params({"force_destroy": value})
    assert (at_apply is None) == bool(problems), (value, at_apply, problems)
    if at_apply is not None:
        validated = S3BucketProvisioner.params_model.model_validate({"force_destroy": value})  # type: ignore[union-attr]
        assert validated.force_destroy is at_apply


@pytest.mark.parametrize("value", [5, "5", 5.0], ids=repr)
def test_an_int_param_accepts_what_apply_reads_as_that_int(value: Any) -> None:
    assert resource_schema(SqsQueueProvisioner).check_params({"delay_seconds": value}) == []
    assert int_param(_ctx(delay_seconds=value), "delay_seconds") == 5


@pytest.mark.parametrize("value", ["lots", [5], {"n": 5}], ids=repr)
def test_an_int_param_apply_refuses_is_refused_at_validate(value: Any) -> None:
    assert resource_schema(SqsQueueProvisioner).check_params({"delay_seconds": value})
    with pytest.raises(ResourceError):
        int_param(_ctx(delay_seconds=value), "delay_seconds")


def test_text_params_take_numbers_as_before() -> None:
    """``engine_version: 16`` is a YAML number; the provisioner reads it as "16"."""
    schema = resource_schema(RdsPostgresProvisioner)
    assert schema.check_params({"engine_version": 16, "allocated_storage": "20"}) == []


def test_key_types_and_billing_modes_are_checked_at_validate() -> None:
    schema = resource_schema(DynamoDbTableProvisioner)
    assert schema.check_params({"hash_key_type": "n", "billing_mode": "provisioned"}) == []
    [problem] = schema.check_params({"hash_key_type": "X"})
    assert problem.path == ("hash_key_type",) and "'S', 'N' or 'B'" in problem.message


CONFIG = """\
[platform]
name = "awsschemas"

[plugins]
allow = ["aws"]

[plugins.aws]
region = "eu-west-1"

[environments.prod]

[[rules]]
type = "s3"
provisioner = "aws-s3"

[[rules]]
type = "queue"
provisioner = "aws-queue"
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  web:
    image: shop/web:1
    variables:
      BUCKET: ${resources.media.bucket}
      KEY_ID: ${resources.media.access_key}
      QUEUE: ${resources.jobs.url}
resources:
  media:
    type: s3
    params:
      versioning: maybe
  jobs:
    type: queue
    params:
      fifo: true
      delay_secs: 5
"""


def test_validate_refuses_what_aws_would_refuse_later(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(CONFIG)
    (tmp_path / "score.yaml").write_text(SCORE)
    result = subprocess.run(
        [sys.executable, "-m", "podium", "validate", "-e", "prod", "-f", "score.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    errors = result.stderr
    assert (
        "score.yaml:9:7: containers.web.variables.KEY_ID: placeholder "
        "${resources.media.access_key}: resource 'media' (s3, provisioner 'aws-s3') has no "
        "output 'access_key'; did you mean 'access_key_id'?"
    ) in errors, errors
    assert (
        "score.yaml:15:7: resources.media.params.versioning: resource 'media' (s3, provisioner "
        "'aws-s3'): param 'versioning': Input should be a valid boolean (found 'maybe')"
    ) in errors, errors
    assert (
        "score.yaml:20:7: resources.jobs.params.delay_secs: resource 'jobs' (queue, provisioner "
        "'aws-queue'): unknown param 'delay_secs'; did you mean 'delay_seconds'?"
    ) in errors, errors


def test_podium_aws_data_stores_declare_that_they_hold_data() -> None:
    """What a plan labels DATA LOSS when deleted or replaced (see the data-loss guard)."""
    from podium_aws.provisioners.dynamodb import DynamoDbTableProvisioner
    from podium_aws.provisioners.elasticache import ElastiCacheRedisProvisioner
    from podium_aws.provisioners.rds import RdsPostgresProvisioner
    from podium_aws.provisioners.s3 import S3BucketProvisioner
    from podium_aws.provisioners.secret import SecretsManagerSecretProvisioner
    from podium_aws.provisioners.sqs import SqsProvisioner, SqsQueueProvisioner

    stores = [
        RdsPostgresProvisioner,
        DynamoDbTableProvisioner,
        S3BucketProvisioner,
        ElastiCacheRedisProvisioner,
        SqsQueueProvisioner,
        SqsProvisioner,
    ]
    assert all(resource_schema(cls).holds_data for cls in stores)
    assert not resource_schema(SecretsManagerSecretProvisioner).holds_data
