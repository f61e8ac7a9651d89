"""The platform's queue behind one interface (`base.Queue`); `open_queue` picks the backend from the settings.

Backends are imported only when chosen, so an image never loads the SDKs of other clouds.
"""

from redis.asyncio import Redis

from app.queues.base import Message, Queue, QueueError
from app.settings import Settings

__all__ = ["Message", "Queue", "QueueError", "open_queue"]


def open_queue(settings: Settings, redis: Redis | None) -> Queue:
    """The queue of APP_QUEUE_BACKEND / APP_QUEUE_URL (the settings have checked their shapes).

    Redis Streams use the app's own Redis client (`redis`); the other backends ignore it.
    """
    backend, url, dead = settings.queue_backend, settings.queue_url or "", settings.queue_dead_letter_url
    if backend == "sqs":
        from app.queues.sqs import SqsQueue

        return SqsQueue(url, dead)
    if backend == "pubsub":
        from app.queues.pubsub import PubSubQueue

        return PubSubQueue(url, settings.queue_subscription or "", dead)
    if backend == "servicebus":
        from app.queues.servicebus import ServiceBusQueue

        return ServiceBusQueue(url)
    if backend == "redis" and redis is not None:
        from app.queues.redis_streams import RedisStreamQueue

        return RedisStreamQueue(redis, url, dead)
    raise QueueError(f"APP_QUEUE_BACKEND={backend!r} cannot be opened (redis needs APP_REDIS_URL)")
