"""``queue`` (and ``sqs``): an SQS queue."""

from __future__ import annotations

from typing import Any

from podium.plugin import Output, Outputs, Param, ResourceContext
from podium_aws.clients import aws_errors, error_code
from podium_aws.naming import SQS_MAX, physical_name
from podium_aws.provisioners.base import AwsParams, AwsProvisioner, Flag, bool_param, int_param

#: Param -> SQS attribute, for the attributes that may change in place.
_MUTABLE = {
    "visibility_timeout": "VisibilityTimeout",
    "message_retention_seconds": "MessageRetentionPeriod",
    "delay_seconds": "DelaySeconds",
    "receive_wait_seconds": "ReceiveMessageWaitTimeSeconds",
    "max_message_size": "MaximumMessageSize",
}


class QueueParams(AwsParams):
    fifo: Flag = Param(
        False, forces_replacement=True, description="A FIFO queue (exactly-once, in order)."
    )
    visibility_timeout: int | None = Param(
        None, description="Seconds a received message stays hidden (VisibilityTimeout)."
    )
    message_retention_seconds: int | None = Param(
        None, description="Seconds a message is kept (MessageRetentionPeriod)."
    )
    delay_seconds: int | None = Param(None, description="Delivery delay (DelaySeconds).")
    receive_wait_seconds: int | None = Param(
        None, description="Long-polling wait (ReceiveMessageWaitTimeSeconds)."
    )
    max_message_size: int | None = Param(
        None, description="Largest message in bytes (MaximumMessageSize)."
    )


class SqsQueueProvisioner(AwsProvisioner):
    name = "aws-queue"
    resource_type = "queue"
    holds_data = True
    params_model = QueueParams
    output_fields = {
        "url": Output("The queue URL."),
        "arn": Output("The queue's ARN."),
        "name": Output("The queue's name."),
        "region": Output("The queue's region."),
    }
    max_name_length = SQS_MAX

    def name_for(self, ctx: ResourceContext) -> str:
        if bool_param(ctx, "fifo", False):
            # FIFO queue names must end in ".fifo", within the same 80 characters.
            return physical_name(ctx.env, ctx.uid, self.settings, SQS_MAX - 5) + ".fifo"
        return super().name_for(ctx)

    def create(self, ctx: ResourceContext) -> Outputs:
        self.check_params(ctx)
        sqs = self.client("sqs", ctx)
        name = self.name_for(ctx)
        url = self._url(sqs, name)
        attributes = self._attributes(ctx)
        with aws_errors(f"sqs:CreateQueue {name}"):
            if url is None:
                create_attrs = dict(attributes)
                if bool_param(ctx, "fifo", False):
                    create_attrs["FifoQueue"] = "true"
                url = sqs.create_queue(
                    QueueName=name, Attributes=create_attrs, tags=self.tags_for(ctx)
                )["QueueUrl"]
            else:
                # Adopted (or updated): bring attributes and tags to the desired ones.
                if attributes:
                    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
                sqs.tag_queue(QueueUrl=url, Tags=self.tags_for(ctx))
        return self._outputs(ctx, sqs, name, url)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        sqs = self.client("sqs", ctx)
        name = self.name_for(ctx)
        url = self._url(sqs, name)
        return None if url is None else self._outputs(ctx, sqs, name, url)

    def update(self, ctx: ResourceContext, previous: Any) -> Outputs:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        sqs = self.client("sqs", ctx)
        name = self.name_for(ctx)
        url = self._url(sqs, name)
        if url is None:
            return
        from botocore.exceptions import ClientError

        with aws_errors(f"sqs:DeleteQueue {name}"):
            try:
                sqs.delete_queue(QueueUrl=url)
            except ClientError as exc:
                if not _missing(exc):
                    raise

    def _url(self, sqs: Any, name: str) -> str | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"sqs:GetQueueUrl {name}"):
            try:
                return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
            except ClientError as exc:
                if _missing(exc):
                    return None
                raise

    def _attributes(self, ctx: ResourceContext) -> dict[str, str]:
        attributes: dict[str, str] = {}
        for param, attribute in _MUTABLE.items():
            value = int_param(ctx, param)
            if value is not None:
                attributes[attribute] = str(value)
        return attributes

    def _outputs(self, ctx: ResourceContext, sqs: Any, name: str, url: str) -> Outputs:
        with aws_errors(f"sqs:GetQueueAttributes {name}"):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return {
            "url": url,
            "arn": attrs["Attributes"]["QueueArn"],
            "name": name,
            "region": self.region(ctx),
        }


class SqsProvisioner(SqsQueueProvisioner):
    """The same queue, for workloads that ask for type ``sqs`` by its AWS name."""

    name = "aws-sqs"
    resource_type = "sqs"


def _missing(exc: BaseException) -> bool:
    return error_code(exc) in {
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NonExistentQueue",
    }
