"""The harness works after other code ran asyncio.run(), which leaves no current event loop."""

import asyncio

from components.aws.queue import Queue, QueueArgs
from components.testing import plan


def test_plan_after_asyncio_run() -> None:
    async def nothing() -> None:
        return None

    asyncio.run(nothing())
    graph = plan(lambda: Queue("jobs", QueueArgs()))
    assert len(graph.of_type("aws:sqs/queue:Queue")) == 2
