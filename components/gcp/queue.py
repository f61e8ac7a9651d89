"""Queue: a Pub/Sub topic for jobs and one for dead letters (both customer-managed key), the
workers' pull subscription with a dead-letter policy and a retry policy, and a subscription on
the dead-letter topic so dead letters are kept for inspection.

Pub/Sub moves a message to the dead-letter topic as its own service agent: the agent needs
publisher on the dead-letter topic and subscriber on the subscription, or dead-lettering fails
silently. The subscription waits for the publisher binding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp.pubsub as pubsub

from components.base import Block
from components.gcp.apis import GcpArgs, after

PUBLISHER = "roles/pubsub.publisher"
SUBSCRIBER = "roles/pubsub.subscriber"
VIEWER = "roles/pubsub.viewer"


@dataclass(kw_only=True)
class QueueArgs(GcpArgs):
    """Inputs of :class:`Queue`. Child keys for ``transform``: ``topic``, ``deadLetterTopic``,
    ``subscription``, ``deadLetterSubscription``, ``agentPublish``, ``agentSubscribe``,
    ``publish-<i>``, ``consume-<i>-subscriber``, ``consume-<i>-viewer`` (``<i>``: the grant's number)."""

    pubsub_agent_member: pulumi.Input[str]
    """``serviceAccount:service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com``."""
    max_delivery_attempts: int = 5
    """Deliveries before a message moves to the dead-letter topic."""
    ack_deadline_seconds: int = 60
    """Seconds a worker has to acknowledge a message before it is redelivered."""
    retention: str = "604800s"
    """How long unacknowledged messages are kept (a duration such as ``604800s``)."""
    kms_key_name: pulumi.Input[str] | None = None
    """Customer-managed key for the topics; ``None`` uses Google-managed encryption."""
    wait_for: list[pulumi.Resource] = field(default_factory=list)
    """The Pub/Sub agent's key binding."""


class Queue(Block):
    topic_id: pulumi.Output[str]
    """``projects/P/topics/T``: ``APP_QUEUE_URL``."""
    subscription_id: pulumi.Output[str]
    """``projects/P/subscriptions/S``: ``APP_QUEUE_SUBSCRIPTION``."""
    dead_letter_topic_id: pulumi.Output[str]
    """Id of the dead-letter topic."""

    def __init__(self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not 5 <= args.max_delivery_attempts <= 100:
            raise ValueError(
                f"QueueArgs.max_delivery_attempts={args.max_delivery_attempts}: Pub/Sub allows 5-100 "
                "(a dead-letter policy is always set)"
            )
        if not 10 <= args.ack_deadline_seconds <= 600:
            raise ValueError(f"QueueArgs.ack_deadline_seconds={args.ack_deadline_seconds}: must be 10-600")
        super().__init__("ai-platform:gcp:Queue", name, args, opts)
        self._count = 0
        waits = after(args, *args.wait_for)
        topic = self.child(
            "topic",
            pubsub.Topic,
            pubsub.TopicArgs(
                project=args.project, kms_key_name=args.kms_key_name, message_retention_duration=args.retention
            ),
            waits,
            name="jobs",
        )
        dead_letter = self.child(
            "deadLetterTopic",
            pubsub.Topic,
            pubsub.TopicArgs(
                project=args.project, kms_key_name=args.kms_key_name, message_retention_duration=args.retention
            ),
            waits,
            name="jobs-dead-letter",
        )
        agent_publish = self.child(
            "agentPublish",
            pubsub.TopicIAMMember,
            pubsub.TopicIAMMemberArgs(
                project=args.project, topic=dead_letter.name, role=PUBLISHER, member=args.pubsub_agent_member
            ),
            name="agent-dead-letter-publisher",
        )
        subscription = self.child(
            "subscription",
            pubsub.Subscription,
            pubsub.SubscriptionArgs(
                project=args.project,
                topic=topic.id,
                ack_deadline_seconds=args.ack_deadline_seconds,
                message_retention_duration=args.retention,
                expiration_policy=pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
                dead_letter_policy=pubsub.SubscriptionDeadLetterPolicyArgs(
                    dead_letter_topic=dead_letter.id, max_delivery_attempts=args.max_delivery_attempts
                ),
                retry_policy=pubsub.SubscriptionRetryPolicyArgs(minimum_backoff="10s", maximum_backoff="600s"),
            ),
            pulumi.ResourceOptions(depends_on=[agent_publish]),
            name="jobs-worker",
        )
        self.child(
            "agentSubscribe",
            pubsub.SubscriptionIAMMember,
            pubsub.SubscriptionIAMMemberArgs(
                project=args.project, subscription=subscription.name, role=SUBSCRIBER, member=args.pubsub_agent_member
            ),
            name="agent-subscriber",
        )
        self.child(
            "deadLetterSubscription",
            pubsub.Subscription,
            pubsub.SubscriptionArgs(
                project=args.project,
                topic=dead_letter.id,
                ack_deadline_seconds=args.ack_deadline_seconds,
                message_retention_duration=args.retention,
                expiration_policy=pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            ),
            name="jobs-dead-letter-inspect",
        )
        self._topic, self._subscription, self._args = topic, subscription, args
        self.topic_id = topic.id
        self.subscription_id = subscription.id
        self.dead_letter_topic_id = dead_letter.id
        self.register_outputs({"topicId": self.topic_id, "subscriptionId": self.subscription_id})

    def grant_publish(self, member: pulumi.Input[str]) -> list[pulumi.Resource]:
        """Publisher on the jobs topic (the API enqueues)."""
        self._count += 1
        return [
            self.child(
                f"publish-{self._count}",
                pubsub.TopicIAMMember,
                pubsub.TopicIAMMemberArgs(
                    project=self._args.project, topic=self._topic.name, role=PUBLISHER, member=member
                ),
                name=f"publisher-{self._count}",
            )
        ]

    def grant_consume(self, member: pulumi.Input[str]) -> list[pulumi.Resource]:
        """Subscriber and viewer on the subscription (the worker pulls, acks and reads the backlog)."""
        self._count += 1
        return [
            self.child(
                f"consume-{self._count}-{role.rsplit('.', 1)[-1]}",
                pubsub.SubscriptionIAMMember,
                pubsub.SubscriptionIAMMemberArgs(
                    project=self._args.project, subscription=self._subscription.name, role=role, member=member
                ),
                name=f"{role.rsplit('.', 1)[-1]}-{self._count}",
            )
            for role in (SUBSCRIBER, VIEWER)
        ]
