"""Queue: an SQS queue with a dead-letter queue, encrypted, TLS-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Block, BlockArgs


@dataclass(kw_only=True)
class QueueArgs(BlockArgs):
    """Inputs of :class:`Queue`. Child keys for ``transform``: ``queue``, ``deadLetterQueue``,
    ``policy``."""

    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key; ``None`` uses SQS-managed encryption (SSE-SQS), still encrypted."""
    visibility_timeout_seconds: int = 300
    """Matches the app's longest request timeout (300 s) so a message is not redelivered mid-work."""
    message_retention_seconds: int = 4 * 24 * 3600
    max_receive_count: int = 5
    """Deliveries before a message moves to the dead-letter queue."""
    dead_letter_retention_seconds: int = 14 * 24 * 3600
    """The SQS maximum, so failed work can be inspected for two weeks."""


class Queue(Block):
    """Work queue for asynchronous jobs, with a dead-letter queue and a TLS-only policy."""

    queue_url: pulumi.Output[str]
    """URL of the job queue."""
    queue_arn: pulumi.Output[str]
    """ARN of the job queue."""
    queue_name: pulumi.Output[str]
    """Name of the job queue (the worker's scaling metric's dimension)."""
    dead_letter_queue_arn: pulumi.Output[str]
    """ARN of the dead-letter queue."""

    def __init__(self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:aws:Queue", name, args, opts)
        customer_key = args.kms_key_arn is not None

        def encrypted(retention_seconds: int, redrive_policy: pulumi.Input[str] | None = None) -> aws.sqs.QueueArgs:
            return aws.sqs.QueueArgs(
                message_retention_seconds=retention_seconds,
                visibility_timeout_seconds=args.visibility_timeout_seconds,
                receive_wait_time_seconds=20,
                redrive_policy=redrive_policy,
                kms_master_key_id=args.kms_key_arn,
                kms_data_key_reuse_period_seconds=300 if customer_key else None,
                sqs_managed_sse_enabled=None if customer_key else True,
            )

        dlq = self.child("deadLetterQueue", aws.sqs.Queue, encrypted(args.dead_letter_retention_seconds), name="dlq")
        queue = self.child(
            "queue",
            aws.sqs.Queue,
            encrypted(
                args.message_retention_seconds,
                dlq.arn.apply(
                    lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count})
                ),
            ),
        )
        self.child(
            "deadLetterQueueRedriveAllow",
            aws.sqs.RedriveAllowPolicy,
            aws.sqs.RedriveAllowPolicyArgs(
                queue_url=dlq.url,
                redrive_allow_policy=queue.arn.apply(
                    lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
                ),
            ),
            name="dlq-redrive-allow",
        )
        for key, target in (("policy", queue), ("deadLetterQueuePolicy", dlq)):
            self.child(
                key,
                aws.sqs.QueuePolicy,
                aws.sqs.QueuePolicyArgs(queue_url=target.url, policy=target.arn.apply(_deny_insecure_transport)),
                name=f"{'dlq-' if target is dlq else ''}tls-only",
            )
        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.queue_name = queue.name
        self.dead_letter_queue_arn = dlq.arn
        self.dead_letter_queue_url = dlq.url
        self._kms_key_arn = args.kms_key_arn
        self.register_outputs({"queueUrl": queue.url, "queueArn": queue.arn, "deadLetterQueueArn": dlq.arn})

    def grant_consume(self) -> list[pulumi.Output[Any]]:
        """IAM statements that let a role send, receive and settle this queue's messages (a worker
        and the API that enqueues), with the key's use through SQS only when it is encrypted with one."""
        statements = [
            pulumi.Output.all(self.queue_arn, self.dead_letter_queue_arn).apply(
                lambda arns: {
                    "Sid": "UseWorkQueue",
                    "Effect": "Allow",
                    "Action": [
                        "sqs:SendMessage",
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ],
                    "Resource": arns[0],
                }
            )
        ]
        if self._kms_key_arn is not None:
            statements.append(
                pulumi.Output.from_input(self._kms_key_arn).apply(
                    lambda arn: {
                        "Sid": "UseQueueEncryptionKey",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": arn,
                        "Condition": {"StringLike": {"kms:ViaService": "sqs.*.amazonaws.com"}},
                    }
                )
            )
        return statements


def _validate(args: QueueArgs) -> None:
    """SQS's own limits, checked before anything is registered."""
    limits = {
        "visibility_timeout_seconds": (args.visibility_timeout_seconds, 0, 43_200),
        "message_retention_seconds": (args.message_retention_seconds, 60, 1_209_600),
        "dead_letter_retention_seconds": (args.dead_letter_retention_seconds, 60, 1_209_600),
        "max_receive_count": (args.max_receive_count, 1, 1000),
    }
    for field_name, (value, low, high) in limits.items():
        if not low <= value <= high:
            raise ValueError(f"QueueArgs.{field_name}={value}: allowed {low} to {high}")
    if args.dead_letter_retention_seconds < args.message_retention_seconds:
        raise ValueError(
            f"QueueArgs.dead_letter_retention_seconds={args.dead_letter_retention_seconds} is shorter than "
            f"message_retention_seconds={args.message_retention_seconds}: messages would expire on arrival "
            "(SQS keeps the original enqueue time)"
        )


def _deny_insecure_transport(queue_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
