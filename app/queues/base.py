"""The one queue interface every backend implements: send, receive with a lease, ack, retry later, dead-letter, depth.

Delivery is at least once: a message whose lease runs out before `ack` (a worker killed mid-job)
is delivered again. Handlers must therefore be idempotent; the job store makes them so.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Message:
    """One leased delivery: `body` is what `send` got; `handle` is the backend's receipt for this delivery."""

    id: str
    body: bytes
    handle: Any


class QueueError(Exception):
    """The queue service failed or refused an operation (network, permissions, missing queue)."""


class Queue(ABC):
    backend: str
    name: str  # the queue as the platform names it (URL, topic path, stream), the metric's label

    @abstractmethod
    async def send(self, body: bytes) -> str:
        """Enqueue `body`; return the backend's message id."""

    @abstractmethod
    async def receive(self, max_messages: int, lease_s: int, wait_s: float) -> list[Message]:
        """Up to `max_messages`, each leased for `lease_s` seconds; wait at most `wait_s` when empty."""

    @abstractmethod
    async def extend(self, message: Message, lease_s: int) -> None:
        """Keep the lease of a message still being worked on for another `lease_s` seconds."""

    @abstractmethod
    async def ack(self, message: Message) -> None:
        """Done: the message is never delivered again."""

    @abstractmethod
    async def retry_later(self, message: Message, delay_s: float) -> None:
        """Give the message back, to be delivered again after about `delay_s` seconds (a nack with a delay)."""

    @abstractmethod
    async def dead_letter(self, message: Message, reason: str) -> None:
        """Move the message to the dead letter (and off this queue)."""

    @abstractmethod
    async def depth(self) -> int | None:
        """Messages waiting to be delivered (None when the service cannot say, see the backend)."""

    async def close(self) -> None:  # noqa: B027 - most backends hold nothing to close
        """Release connections."""
