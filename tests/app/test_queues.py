"""The queue interface against real servers: Redis Streams on redis-server, SQS on moto, Pub/Sub on the emulator.

Service Bus has no emulator here: its URL parsing, the messages it builds and the order of its
calls are checked with the SDK's own message types (see the last tests), never a live namespace.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.servicebus import ServiceBusMessage
from redis.asyncio import Redis

from app.queues import Queue, QueueError, open_queue
from app.queues.servicebus import ServiceBusQueue, copy_for_retry, parse_url
from app.settings import Settings
from tests.app.queue_servers import PubSubEmulator, SqsServer
from tests.app.support import RedisServer

BACKENDS = ["redis", "sqs", "pubsub"]


class Harness:
    """Opens a fresh queue of one backend through `open_queue`, and reads its dead letter natively."""

    def __init__(self, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
        self.backend = backend
        self.request = request
        name = f"q{uuid.uuid4().hex[:12]}"
        self.settings: dict[str, Any] = {"auth_required": False, "queue_backend": backend}
        redis: RedisServer = request.getfixturevalue("redis_server")
        self.settings["redis_url"] = redis.url
        self.redis = redis
        if backend == "redis":
            self.settings["queue_url"] = name
        elif backend == "sqs":
            sqs: SqsServer = request.getfixturevalue("sqs_server")
            for key, value in sqs.env.items():
                monkeypatch.setenv(key, value)
            self.sqs = sqs
            self.settings["queue_url"], self.dead = sqs.new_queue(name)
        else:
            emulator: PubSubEmulator = request.getfixturevalue("pubsub_emulator")
            self.emulator = emulator
            topic, subscription, self.dead = emulator.new_topic(name)
            self.settings.update(queue_url=topic, queue_subscription=subscription)

    def open(self, redis: Redis) -> Queue:
        return open_queue(Settings(**self.settings), redis)

    def dead_letters(self) -> list[bytes]:
        if self.backend == "redis":
            stream = f"{self.settings['queue_url']}:dead"
            out = self.redis.cli("--no-raw", "xrange", stream, "-", "+")
            return [line.encode() for line in out.splitlines() if "job" in line]
        if self.backend == "sqs":
            got = self.sqs.client().receive_message(QueueUrl=self.dead, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            return [m["Body"].encode() for m in got.get("Messages", [])]
        return self.emulator.pull(f"{self.settings['queue_subscription']}-dead")


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Harness:
    return Harness(request.param, request, monkeypatch)


def run(harness: Harness, body: Callable[[Queue], Awaitable[None]]) -> None:
    async def main() -> None:
        redis = Redis.from_url(harness.redis.url, socket_timeout=2)
        queue = harness.open(redis)
        try:
            await body(queue)
        finally:
            await queue.close()
            await redis.aclose()

    asyncio.run(main())


async def receive_all(queue: Queue, count: int, lease_s: int, within_s: float) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + within_s
    while len(got) < count and time.monotonic() < deadline:
        for message in await queue.receive(count - len(got), lease_s, 1):
            got.append(message.body)
            await queue.ack(message)
    return got


def test_send_receive_ack_and_depth(harness: Harness) -> None:
    async def body(queue: Queue) -> None:
        bodies = [json.dumps({"job_id": f"job-{i}"}).encode() for i in range(3)]
        for b in bodies:
            assert await queue.send(b)
        if harness.backend != "pubsub":  # Pub/Sub's API has no backlog count (Cloud Monitoring has it)
            assert await queue.depth() == 3
        else:
            assert await queue.depth() is None
        assert sorted(await receive_all(queue, 3, 30, 20)) == sorted(bodies)
        assert await queue.receive(3, 30, 1) == []  # acked: never again
        if harness.backend != "pubsub":
            assert await queue.depth() == 0

    run(harness, body)


def test_an_unacked_message_comes_back_after_its_lease(harness: Harness) -> None:
    """What a worker killed mid-job leaves behind: the lease runs out and the message is delivered again."""

    async def body(queue: Queue) -> None:
        await queue.send(b'{"job_id": "lost"}')
        (first,) = await receive_all_leased(queue, 2)
        assert await queue.receive(1, 2, 0.5) == []  # leased: nobody else gets it meanwhile
        again = []
        deadline = time.monotonic() + 30
        while not again and time.monotonic() < deadline:
            again = await queue.receive(1, 2, 1)
        assert [m.body for m in again] == [first.body]
        await queue.ack(again[0])

    run(harness, body)


async def receive_all_leased(queue: Queue, lease_s: int) -> list[Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = await queue.receive(1, lease_s, 1)
        if got:
            return got
    raise AssertionError("nothing received")


def test_extend_keeps_the_lease(harness: Harness) -> None:
    async def body(queue: Queue) -> None:
        await queue.send(b'{"job_id": "long"}')
        (message,) = await receive_all_leased(queue, 2)
        for _ in range(3):  # 3 s in all, past the 2 s lease, renewed every second
            await asyncio.sleep(1)
            await queue.extend(message, 2)
            assert await queue.receive(1, 2, 0) == []
        await queue.ack(message)

    run(harness, body)


def test_retry_later_redelivers_after_the_delay(harness: Harness) -> None:
    async def body(queue: Queue) -> None:
        await queue.send(b'{"job_id": "again"}')
        (message,) = await receive_all_leased(queue, 30)
        await queue.retry_later(message, 2)
        sent = time.monotonic()
        assert await queue.receive(1, 30, 1) == []
        (again,) = await receive_all_leased(queue, 30)
        assert time.monotonic() - sent >= 1.5
        assert again.body == message.body
        await queue.ack(again)

    run(harness, body)


def test_dead_letter_moves_the_message(harness: Harness) -> None:
    async def body(queue: Queue) -> None:
        await queue.send(b'{"job_id": "job-poison"}')
        (message,) = await receive_all_leased(queue, 30)
        await queue.dead_letter(message, "502: every target failed")
        assert await queue.receive(1, 1, 2) == []

    run(harness, body)
    assert any(b"job-poison" in letter for letter in harness.dead_letters())


def test_sqs_dead_letter_without_a_redrive_policy_names_the_setting(
    sqs_server: SqsServer, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sqs_server.env.items():
        monkeypatch.setenv(key, value)
    url = sqs_server.client().create_queue(QueueName=f"plain{uuid.uuid4().hex[:8]}")["QueueUrl"]
    settings = Settings(auth_required=False, redis_url=redis_server.url, queue_backend="sqs", queue_url=url)  # pyright: ignore[reportCallIssue]

    async def main() -> None:
        queue = open_queue(settings, None)
        await queue.send(b"{}")
        (message,) = await receive_all_leased(queue, 30)
        with pytest.raises(QueueError, match="APP_QUEUE_DEAD_LETTER_URL"):
            await queue.dead_letter(message, "x")
        await queue.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"queue_backend": "sqs", "queue_url": "not-a-url"}, "APP_QUEUE_URL='not-a-url' is not a sqs queue"),
        ({"queue_backend": "pubsub", "queue_url": "projects/p/topics/t"}, "needs APP_QUEUE_SUBSCRIPTION"),
        ({"queue_backend": "servicebus", "queue_url": "https://x/q"}, "sb://NAMESPACE.servicebus.windows.net/QUEUE"),
        ({"queue_backend": "redis"}, "needs APP_QUEUE_URL"),
        ({"queue_url": "jobs"}, "need APP_QUEUE_BACKEND"),
        ({"queue_backend": "sqs", "queue_url": "https://sqs.us-east-1.amazonaws.com/1/q.fifo"}, "is not a sqs queue"),
        ({"queue_backend": "redis", "queue_url": "s", "redis_url": None}, "needs APP_REDIS_URL"),
    ],
)
def test_settings_check_the_queue_contract(env: dict[str, Any], fragment: str) -> None:
    values = {"auth_required": False, "redis_url": "redis://127.0.0.1:1/0", **env}
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Settings(**values)


# --- Service Bus: no emulator here. Checked: URL parsing, the SDK messages built, the call sequence. ---


def test_servicebus_url_names_namespace_and_queue() -> None:
    assert parse_url("sb://ns-1.servicebus.windows.net/ai-jobs") == ("ns-1.servicebus.windows.net", "ai-jobs")
    with pytest.raises(QueueError, match="sb://NAMESPACE"):
        parse_url("https://ns-1.servicebus.windows.net/ai-jobs")


def test_servicebus_retry_copy_is_an_sdk_message_with_the_same_body_id_and_properties() -> None:
    copy = copy_for_retry(b'{"job_id": "j"}', "m-1", {"k": "v"})
    assert isinstance(copy, ServiceBusMessage)
    assert b"".join(copy.body) == b'{"job_id": "j"}'
    assert copy.message_id == "m-1"
    assert copy.application_properties == {"k": "v"}


class _Recorder:
    """Stands in for the SDK's async sender/receiver/client (no Service Bus here) and records each call."""

    def __init__(self, calls: list[tuple[str, Any]], received: list[Any] | None = None) -> None:
        self.calls = calls
        self.received = received or []

    def get_queue_sender(self, queue: str) -> "_Recorder":
        self.calls.append(("sender", queue))
        return self

    def get_queue_receiver(self, queue: str, **kwargs: Any) -> "_Recorder":
        self.calls.append(("receiver", (queue, str(kwargs["receive_mode"]))))
        return self

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, (args, kwargs)))
            return self.received if name == "receive_messages" else None

        return call


def test_servicebus_calls_peek_lock_schedule_then_complete_and_native_dead_letter() -> None:
    calls: list[tuple[str, Any]] = []
    delivered = ServiceBusMessage(b'{"job_id": "j"}', message_id="m-7", application_properties={"a": "b"})
    fake = _Recorder(calls, [delivered])

    async def main() -> None:
        queue = ServiceBusQueue("sb://ns.servicebus.windows.net/jobs", client=fake, admin=fake)
        message_id = await queue.send(b'{"job_id": "j"}')
        sent = calls[2][1][0][0]  # send_messages(ServiceBusMessage)
        assert isinstance(sent, ServiceBusMessage) and sent.message_id == message_id
        (message,) = await queue.receive(5, 60, 1)
        assert (message.id, message.body) == ("m-7", b'{"job_id": "j"}')
        await queue.retry_later(message, 30)
        await queue.dead_letter(message, "502: all failed")

    asyncio.run(main())
    names = [name for name, _ in calls]
    assert names[:2] == ["sender", "receiver"]
    assert "PEEK_LOCK" in calls[1][1][1].upper()
    assert names[3:] == ["receive_messages", "schedule_messages", "complete_message", "dead_letter_message"]
    (copy, when), _ = calls[4][1]
    assert b"".join(copy.body) == b'{"job_id": "j"}' and copy.message_id == "m-7"
    assert 25 < (when - datetime.now(UTC)).total_seconds() <= 30
    assert calls[6][1][1]["error_description"] == "502: all failed"


def test_a_redis_lease_taken_over_by_another_worker_is_not_taken_back(redis_server: RedisServer) -> None:
    """A worker that stalled past its lease gets an error renewing it, and the new holder keeps the entry."""
    from app.queues.redis_streams import RedisStreamQueue

    async def main() -> None:
        redis = Redis.from_url(redis_server.url, socket_timeout=2)
        stream = f"takeover{uuid.uuid4().hex[:8]}"
        slow, other = RedisStreamQueue(redis, stream), RedisStreamQueue(redis, stream)
        await slow.send(b'{"job_id": "j"}')
        (stalled,) = await receive_all_leased(slow, 1)
        await asyncio.sleep(1.2)
        (taken,) = await other.receive(1, 1, 1)  # idle past the 1 s lease: reclaimed
        assert taken.id == stalled.id
        with pytest.raises(QueueError, match="no longer leased to this worker"):
            await slow.extend(stalled, 1)
        await other.extend(taken, 1)
        await other.ack(taken)
        await redis.aclose()

    asyncio.run(main())
