"""Real queue servers for the job tests: moto's SQS server and Google's Pub/Sub emulator, one each per session."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from moto.server import ThreadedMotoServer

from tests.app.support import free_port, wait_until

# Fake credentials for moto; botocore signs with them and moto accepts anything.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}


@dataclass
class SqsServer:
    endpoint: str

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to reach this SQS (botocore reads AWS_ENDPOINT_URL_SQS)."""
        return {**AWS_ENV, "AWS_ENDPOINT_URL_SQS": self.endpoint}

    def client(self) -> Any:  # a botocore client has no static type
        import botocore.session

        session = botocore.session.get_session()
        return session.create_client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def new_queue(self, name: str, visibility_s: int = 30) -> tuple[str, str]:
        """A queue and its dead-letter queue (redrive after 100 receives, so the app decides): (url, dlq url)."""
        sqs = self.client()
        dead = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = f'{{"deadLetterTargetArn": "{arn}", "maxReceiveCount": "100"}}'
        url = sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": str(visibility_s), "RedrivePolicy": policy}
        )["QueueUrl"]
        return url, dead


@pytest.fixture(scope="session")
def sqs_server() -> Iterator[SqsServer]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield SqsServer(f"http://127.0.0.1:{port}")
    server.stop()


@dataclass
class PubSubEmulator:
    host: str
    project: str = "jobs-test"

    def new_topic(self, name: str, ack_deadline_s: int = 10) -> tuple[str, str, str]:
        """A topic, its subscription and a dead-letter topic: (topic, subscription, dead-letter topic)."""
        from google.cloud import pubsub_v1

        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        topic = publisher.topic_path(self.project, name)
        dead = publisher.topic_path(self.project, f"{name}-dead")
        subscription = subscriber.subscription_path(self.project, name)
        publisher.create_topic(name=topic)
        publisher.create_topic(name=dead)
        subscriber.create_subscription(
            request={
                "name": subscription,
                "topic": topic,
                "ack_deadline_seconds": ack_deadline_s,
                # the app dead-letters itself after APP_JOB_MAX_ATTEMPTS; it finds the topic here
                "dead_letter_policy": {"dead_letter_topic": dead, "max_delivery_attempts": 100},
            }
        )
        subscriber.create_subscription(name=f"{subscription}-dead", topic=dead)
        subscriber.close()
        return topic, subscription, dead

    def pull(self, subscription: str, timeout: float = 10) -> list[bytes]:
        """Messages on a subscription (acked), for checking dead letters."""
        from google.cloud import pubsub_v1

        subscriber = pubsub_v1.SubscriberClient()
        try:
            answer = subscriber.pull(request={"subscription": subscription, "max_messages": 10}, timeout=timeout)
            if answer.received_messages:
                ack_ids = [m.ack_id for m in answer.received_messages]
                subscriber.acknowledge(request={"subscription": subscription, "ack_ids": ack_ids})
            return [m.message.data for m in answer.received_messages]
        finally:
            subscriber.close()


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubSubEmulator]:
    """`gcloud beta emulators pubsub start` on a free loopback port (Java; several seconds to start)."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.fail("gcloud not found: the Pub/Sub tests need the Cloud SDK's Pub/Sub emulator")
    port = free_port()
    data = tmp_path_factory.mktemp("pubsub")
    log = (data / "emulator.log").open("w")
    proc = subprocess.Popen(
        [gcloud, "beta", "emulators", "pubsub", "start", f"--host-port=127.0.0.1:{port}", f"--data-dir={data}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # gcloud starts java as a child: stop the whole group
    )
    host = f"127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"http://{host}/").status_code == 200, 90, "pubsub emulator", proc)
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = host  # the google clients in this process (and children) use it
    yield PubSubEmulator(host)
    if previous is None:
        os.environ.pop("PUBSUB_EMULATOR_HOST", None)
    else:
        os.environ["PUBSUB_EMULATOR_HOST"] = previous
    os.killpg(proc.pid, 15)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(10)
