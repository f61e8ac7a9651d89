"""Queue: Pub/Sub topic, dead-letter topic, subscription with dead-letter and retry policies, agent roles."""

from __future__ import annotations

from typing import Any

import pytest

from components.gcp.queue import Queue, QueueArgs
from components.testing import plan
from tests.gcp.conftest import KEY, MEMBER, PROJECT, ChildKeys


def _name(graph: Any, resource: str) -> str:
    return graph.named(resource).outputs["name"]


AGENT = "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"


def test_dead_letter_policy_retry_and_the_agents_roles_before_the_subscription(child_keys: ChildKeys) -> None:
    def program() -> None:
        queue = Queue("q", QueueArgs(project=PROJECT, pubsub_agent_member=AGENT, kms_key_name=KEY))
        queue.grant_publish(MEMBER)
        queue.grant_consume(MEMBER)

    graph = plan(program)
    topics = graph.of_type("gcp:pubsub/topic:Topic")
    assert len(topics) == 2 and all(t.inputs["kmsKeyName"] == KEY for t in topics)
    worker = graph.named("q-jobs-worker")
    assert worker.inputs["deadLetterPolicy"]["maxDeliveryAttempts"] == 5
    assert worker.inputs["deadLetterPolicy"]["deadLetterTopic"] == f"projects/{PROJECT}/topics/" + _name(
        graph, "q-jobs-dead-letter"
    )
    assert graph.named("q-jobs-dead-letter").urn in worker.property_dependencies["deadLetterPolicy"]
    assert worker.inputs["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    publisher = graph.named("q-agent-dead-letter-publisher")
    assert (publisher.inputs["role"], publisher.inputs["member"]) == ("roles/pubsub.publisher", AGENT)
    assert publisher.urn in worker.dependencies
    subscriber = graph.named("q-agent-subscriber")
    assert (subscriber.inputs["role"], subscriber.inputs["member"]) == ("roles/pubsub.subscriber", AGENT)
    assert (
        graph.named("q-jobs-dead-letter-inspect").inputs["topic"]
        == worker.inputs["deadLetterPolicy"]["deadLetterTopic"]
    )
    app_roles = sorted(
        m.inputs["role"]
        for t in ("gcp:pubsub/topicIAMMember:TopicIAMMember", "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember")
        for m in graph.of_type(t)
        if m.inputs["member"] == MEMBER
    )
    assert app_roles == ["roles/pubsub.publisher", "roles/pubsub.subscriber", "roles/pubsub.viewer"]
    assert child_keys.undocumented(QueueArgs) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_delivery_attempts": 4}, "QueueArgs.max_delivery_attempts=4: Pub/Sub allows 5-100"),
        ({"ack_deadline_seconds": 5}, "QueueArgs.ack_deadline_seconds=5: must be 10-600"),
    ],
)
def test_bad_args_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("/", r"/")):
        Queue("q", QueueArgs(project=PROJECT, pubsub_agent_member=AGENT, **changes))
