"""Google Cloud Pub/Sub with google-cloud-pubsub: publish to the topic, synchronous pull from the subscription.

The lease is the ack deadline (set per message with ModifyAckDeadline, at most 600 s);
`retry_later` sets the deadline to the delay, after which Pub/Sub delivers the message again.
The dead letter is APP_QUEUE_DEAD_LETTER_URL (a topic), else the subscription's dead-letter
topic. Depth: the Pub/Sub API has no backlog count, so `depth` is None and the platform scales
on Cloud Monitoring's `pubsub.googleapis.com/subscription/num_undelivered_messages`.
PUBSUB_EMULATOR_HOST points both clients at the emulator.
"""

import asyncio
from typing import Any

import anyio
from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1

from app.queues.base import Message, Queue, QueueError

MAX_DEADLINE_S = 600


class PubSubQueue(Queue):
    backend = "pubsub"

    def __init__(self, topic: str, subscription: str, dead_letter_topic: str | None = None) -> None:
        self.name = topic
        self.subscription = subscription
        self.dead_letter_topic = dead_letter_topic
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()

    async def _publish(self, topic: str, body: bytes, **attributes: str) -> str:
        try:
            return await asyncio.wrap_future(self.publisher.publish(topic, body, **attributes))
        except gexc.GoogleAPIError as exc:
            raise QueueError(f"pubsub publish to {topic}: {exc}") from exc

    async def _call(self, operation: str, **request: Any) -> Any:
        method = getattr(self.subscriber, operation)
        try:
            return await anyio.to_thread.run_sync(lambda: method(**request))
        except gexc.GoogleAPIError as exc:
            raise QueueError(f"pubsub {operation} on {self.subscription}: {exc}") from exc

    async def send(self, body: bytes) -> str:
        return await self._publish(self.name, body)

    async def receive(self, max_messages: int, lease_s: int, wait_s: float) -> list[Message]:
        request = {"subscription": self.subscription, "max_messages": max_messages}
        try:
            answer = await self._call("pull", request=request, timeout=max(1.0, wait_s), retry=None)
        except QueueError as exc:
            if isinstance(exc.__cause__, gexc.DeadlineExceeded):
                return []  # nothing arrived within wait_s
            raise
        messages = [Message(r.message.message_id, r.message.data, r.ack_id) for r in answer.received_messages]
        if messages:
            await self._deadline([m.handle for m in messages], lease_s)
        return messages

    async def _deadline(self, ack_ids: list[str], seconds: float) -> None:
        request = {
            "subscription": self.subscription,
            "ack_ids": ack_ids,
            "ack_deadline_seconds": max(0, min(MAX_DEADLINE_S, round(seconds))),
        }
        await self._call("modify_ack_deadline", request=request)

    async def extend(self, message: Message, lease_s: int) -> None:
        await self._deadline([message.handle], lease_s)

    async def ack(self, message: Message) -> None:
        await self._call("acknowledge", request={"subscription": self.subscription, "ack_ids": [message.handle]})

    async def retry_later(self, message: Message, delay_s: float) -> None:
        await self._deadline([message.handle], delay_s)

    async def _dead_letter_topic(self) -> str:
        if self.dead_letter_topic is None:
            found = await self._call("get_subscription", request={"subscription": self.subscription})
            topic = found.dead_letter_policy.dead_letter_topic
            if not topic:
                raise QueueError(
                    f"pubsub subscription {self.subscription} has no dead-letter topic: set APP_QUEUE_DEAD_LETTER_URL"
                )
            self.dead_letter_topic = topic
        return self.dead_letter_topic

    async def dead_letter(self, message: Message, reason: str) -> None:
        await self._publish(await self._dead_letter_topic(), message.body, reason=reason[:1000])
        await self.ack(message)

    async def depth(self) -> None:
        return None

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.publisher.stop)
        self.subscriber.close()
