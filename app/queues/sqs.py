"""Amazon SQS through botocore, each call in a worker thread (aiobotocore conflicts with the pinned botocore).

The lease is the visibility timeout; `retry_later` shortens it to the delay. The dead letter is
APP_QUEUE_DEAD_LETTER_URL, or else the queue's own redrive policy target, looked up once.
The endpoint follows botocore's rules (AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL override it).
"""

import json
import os
import re
from typing import Any

import anyio
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.queues.base import Message, Queue, QueueError

_REGION_IN_HOST = re.compile(r"sqs[.-]([a-z0-9-]+)\.amazonaws\.com")


def region_of(url: str) -> str:
    """The region in an SQS URL's host, else AWS_REGION / AWS_DEFAULT_REGION."""
    found = _REGION_IN_HOST.search(url)
    region = found.group(1) if found else os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise QueueError(f"APP_QUEUE_URL={url!r} names no AWS region: set AWS_REGION")
    return region


class SqsQueue(Queue):
    backend = "sqs"

    def __init__(self, url: str, dead_letter_url: str | None = None) -> None:
        self.name = url
        self.dead_letter_url = dead_letter_url
        config = Config(retries={"mode": "standard"}, read_timeout=30, connect_timeout=5, max_pool_connections=50)
        session = botocore.session.get_session()
        self.client: Any = session.create_client("sqs", region_name=region_of(url), config=config)

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.client, operation)
        try:
            return await anyio.to_thread.run_sync(lambda: method(**params))
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"sqs {operation} on {params.get('QueueUrl', self.name)}: {exc}") from exc

    async def send(self, body: bytes) -> str:
        answer = await self._call("send_message", QueueUrl=self.name, MessageBody=body.decode())
        return answer["MessageId"]

    async def receive(self, max_messages: int, lease_s: int, wait_s: float) -> list[Message]:
        answer = await self._call(
            "receive_message",
            QueueUrl=self.name,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            WaitTimeSeconds=max(0, min(20, int(wait_s))),
            VisibilityTimeout=lease_s,
        )
        return [Message(m["MessageId"], m["Body"].encode(), m["ReceiptHandle"]) for m in answer.get("Messages", [])]

    async def extend(self, message: Message, lease_s: int) -> None:
        await self._visibility(message, lease_s)

    async def _visibility(self, message: Message, seconds: int) -> None:
        await self._call(
            "change_message_visibility", QueueUrl=self.name, ReceiptHandle=message.handle, VisibilityTimeout=seconds
        )

    async def ack(self, message: Message) -> None:
        await self._call("delete_message", QueueUrl=self.name, ReceiptHandle=message.handle)

    async def retry_later(self, message: Message, delay_s: float) -> None:
        await self._visibility(message, max(0, min(43_200, round(delay_s))))

    async def _dead_letter_url(self) -> str:
        if self.dead_letter_url is None:
            answer = await self._call("get_queue_attributes", QueueUrl=self.name, AttributeNames=["RedrivePolicy"])
            policy = answer.get("Attributes", {}).get("RedrivePolicy")
            if not policy:
                raise QueueError(
                    f"sqs queue {self.name} has no dead-letter queue: set APP_QUEUE_DEAD_LETTER_URL or a redrive policy"
                )
            _arn, _aws, _sqs, _region, account, name = json.loads(policy)["deadLetterTargetArn"].split(":")
            found = await self._call("get_queue_url", QueueName=name, QueueOwnerAWSAccountId=account)
            self.dead_letter_url = found["QueueUrl"]
        return self.dead_letter_url

    async def dead_letter(self, message: Message, reason: str) -> None:
        await self._call(
            "send_message",
            QueueUrl=await self._dead_letter_url(),
            MessageBody=message.body.decode(),
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000] or "-"}},
        )
        await self.ack(message)

    async def depth(self) -> int:
        answer = await self._call(
            "get_queue_attributes", QueueUrl=self.name, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(answer["Attributes"]["ApproximateNumberOfMessages"])

    async def close(self) -> None:
        self.client.close()
