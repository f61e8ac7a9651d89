"""Async jobs: submitted by POST /v1/jobs, queued on the platform's queue, run by `python -m app.worker`."""

import json
import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from app.auth import Principal
from app.jobs.metrics import JOBS_SUBMITTED
from app.jobs.models import JobKind
from app.jobs.store import Job, JobStore
from app.queues import Queue, open_queue
from app.settings import Settings

log = logging.getLogger("app.jobs")


@dataclass(slots=True)
class Jobs:
    store: JobStore
    queue: Queue

    async def submit(
        self, owner: Principal, ip: str, kind: JobKind, request: dict[str, Any], idempotency_key: str | None
    ) -> tuple[Job | None, bool]:
        """Store, then queue: (the job as queued, replayed). A job that cannot be queued is forgotten (QueueError).

        The job is read before it is queued, so the answer shows it queued, not already picked up.
        None only when a replayed job has expired meanwhile.
        """
        job_id, replayed = await self.store.create(owner, ip, kind, request, idempotency_key)
        job = await self.store.get(job_id)
        if replayed:
            return job, True
        try:
            await self.queue.send(json.dumps({"job_id": job_id}).encode())
        except BaseException:
            await self.store.delete(job_id, owner, idempotency_key)
            raise
        JOBS_SUBMITTED.labels(kind).inc()
        return job, False

    async def close(self) -> None:
        await self.queue.close()


def open_jobs(settings: Settings, redis: Redis | None) -> Jobs | None:
    """None unless APP_QUEUE_BACKEND is set (the settings then guarantee APP_REDIS_URL)."""
    if settings.queue_backend is None or redis is None:
        return None
    return Jobs(JobStore(redis, settings.job_ttl_s), open_queue(settings, redis))
