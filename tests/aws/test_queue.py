"""Queue: encrypted SQS queue with a dead-letter queue and TLS-only policies."""

from __future__ import annotations

import json

import pytest

from components.aws.queue import Queue, QueueArgs
from components.testing import plan

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def test_defaults_encrypt_with_sqs_managed_keys_and_redrive_to_the_dlq() -> None:
    graph = plan(lambda: Queue("jobs", QueueArgs()))
    queue, dlq = graph.named("jobs-queue"), graph.named("jobs-dlq")
    assert queue.inputs["sqsManagedSseEnabled"] is True and dlq.inputs["sqsManagedSseEnabled"] is True
    assert "kmsMasterKeyId" not in queue.inputs
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"].split(":")[-1].startswith("jobs-dlq")
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue.inputs["visibilityTimeoutSeconds"] == 300 and queue.inputs["receiveWaitTimeSeconds"] == 20


def test_customer_key_replaces_sqs_managed_encryption() -> None:
    graph = plan(lambda: Queue("jobs", QueueArgs(kms_key_arn=KEY)))
    for queue in graph.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == KEY
        assert queue.inputs["kmsDataKeyReusePeriodSeconds"] == 300
        assert "sqsManagedSseEnabled" not in queue.inputs


def test_both_queues_deny_plain_http_and_only_the_queue_may_redrive() -> None:
    graph = plan(lambda: Queue("jobs", QueueArgs()))
    for policy in graph.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = json.loads(graph.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy").inputs["redriveAllowPolicy"])
    assert allow["redrivePermission"] == "byQueue"
    assert [arn.split(":")[-1][: len("jobs-queue")] for arn in allow["sourceQueueArns"]] == ["jobs-queue"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_receive_count": 0}, "QueueArgs.max_receive_count=0: allowed 1 to 1000"),
        ({"visibility_timeout_seconds": 50_000}, "QueueArgs.visibility_timeout_seconds=50000: allowed 0 to 43200"),
        ({"message_retention_seconds": 30}, "QueueArgs.message_retention_seconds=30: allowed 60 to 1209600"),
        ({"dead_letter_retention_seconds": 3600}, "messages would expire on arrival"),
    ],
)
def test_invalid_args_fail_before_anything_is_registered(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        plan(lambda: Queue("jobs", QueueArgs(**changes)))
