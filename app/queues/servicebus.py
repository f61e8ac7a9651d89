"""Azure Service Bus with azure-servicebus's async client and Entra ID (local auth is disabled on the namespace).

The lease is the queue's lock duration (set on the queue by the platform; `extend` renews it).
Service Bus has no delayed abandon, so `retry_later` schedules a copy for later and completes
the original. Dead letters go to the queue's own `$DeadLetterQueue` sub-queue, so
APP_QUEUE_DEAD_LETTER_URL is not used. Depth is the queue's active message count.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError
from azure.identity.aio import DefaultAzureCredential
from azure.servicebus import ServiceBusMessage, ServiceBusReceiveMode
from azure.servicebus.aio import ServiceBusClient
from azure.servicebus.aio.management import ServiceBusAdministrationClient
from azure.servicebus.exceptions import ServiceBusError

from app.queues.base import Message, Queue, QueueError

_URL = re.compile(r"^sb://(?P<namespace>[A-Za-z0-9.-]+)/(?P<queue>[A-Za-z0-9._/-]+)$")


def parse_url(url: str) -> tuple[str, str]:
    """`sb://NS.servicebus.windows.net/QUEUE` -> (fully qualified namespace, queue)."""
    found = _URL.match(url)
    if found is None:
        raise QueueError(f"APP_QUEUE_URL={url!r} is not sb://NAMESPACE.servicebus.windows.net/QUEUE")
    return found["namespace"], found["queue"]


def copy_for_retry(body: bytes, message_id: str, properties: dict[Any, Any] | None) -> ServiceBusMessage:
    """The message a retry schedules: the same body, id and application properties."""
    return ServiceBusMessage(body, message_id=message_id, application_properties=properties)


class ServiceBusQueue(Queue):
    backend = "servicebus"

    def __init__(self, url: str, client: Any = None, admin: Any = None) -> None:
        """`client` and `admin` are made from the URL and a DefaultAzureCredential unless given."""
        self.name = url
        namespace, self.queue = parse_url(url)
        self.credential = None
        if client is None or admin is None:
            self.credential = DefaultAzureCredential()
            client = client or ServiceBusClient(namespace, self.credential)
            admin = admin or ServiceBusAdministrationClient(namespace, self.credential)
        self.client = client
        self.admin = admin
        self.sender = client.get_queue_sender(self.queue)
        self.receiver = client.get_queue_receiver(
            self.queue, receive_mode=ServiceBusReceiveMode.PEEK_LOCK, prefetch_count=0
        )

    async def send(self, body: bytes) -> str:
        message_id = uuid.uuid4().hex
        try:
            await self.sender.send_messages(ServiceBusMessage(body, message_id=message_id))
        except (ServiceBusError, AzureError) as exc:
            raise QueueError(f"service bus send to {self.queue}: {exc}") from exc
        return message_id

    async def receive(self, max_messages: int, lease_s: int, wait_s: float) -> list[Message]:
        try:
            received = await self.receiver.receive_messages(max_message_count=max_messages, max_wait_time=wait_s)
        except (ServiceBusError, AzureError) as exc:
            raise QueueError(f"service bus receive from {self.queue}: {exc}") from exc
        return [Message(str(m.message_id), b"".join(m.body), m) for m in received]

    async def extend(self, message: Message, lease_s: int) -> None:
        try:
            await self.receiver.renew_message_lock(message.handle)
        except (ServiceBusError, AzureError) as exc:
            raise QueueError(f"service bus lock renewal on {self.queue}: {exc}") from exc

    async def ack(self, message: Message) -> None:
        try:
            await self.receiver.complete_message(message.handle)
        except (ServiceBusError, AzureError) as exc:
            raise QueueError(f"service bus complete on {self.queue}: {exc}") from exc

    async def retry_later(self, message: Message, delay_s: float) -> None:
        properties = getattr(message.handle, "application_properties", None)
        copy = copy_for_retry(message.body, message.id, properties)
        try:
            await self.sender.schedule_messages(copy, datetime.now(UTC) + timedelta(seconds=delay_s))
            await self.receiver.complete_message(message.handle)
        except (ServiceBusError, AzureError) as exc:
            raise QueueError(f"service bus retry on {self.queue}: {exc}") from exc

    async def dead_letter(self, message: Message, reason: str) -> None:
        try:
            await self.receiver.dead_letter_message(
                message.handle, reason="job failed", error_description=reason[:1000]
            )
        except (ServiceBusError, AzureError) as exc:
            raise QueueError(f"service bus dead-letter on {self.queue}: {exc}") from exc

    async def depth(self) -> int:
        try:
            runtime = await self.admin.get_queue_runtime_properties(self.queue)
        except (ServiceBusError, AzureError) as exc:
            raise QueueError(f"service bus runtime properties of {self.queue}: {exc}") from exc
        return int(runtime.active_message_count or 0)

    async def close(self) -> None:
        for closable in (self.sender, self.receiver, self.client, self.admin, self.credential):
            if closable is not None:
                await closable.close()
