"""`python -m app.worker`: consume the job queue with bounded concurrency, from the same image and settings as the app.

Each job runs through the app itself, in process: the worker builds the same FastAPI app
(`create_app`, its lifespan: gateway, limits, cache and whatever else the app wires) and sends
the job's body to the synchronous route (/generate, /summarize, /v1/chat/completions) as an
ASGI request carrying the submitting caller's identity and address. So a job gets exactly the
route's answer, limits, budget and fallback, with no second copy of that path.

Failures the caller could not have caused (429, 5xx, the worker's own errors) are retried with
full-jitter exponential backoff (never sooner than Retry-After); after APP_JOB_MAX_ATTEMPTS the
message goes to the dead letter and the job's status says `dead_letter`. Other 4xx fail the job
at once. On SIGTERM the worker stops receiving, lets running jobs finish for up to
APP_GRACEFUL_SHUTDOWN_S, then gives the rest back to the queue. A worker killed outright leaves
its messages leased; the lease runs out and another worker runs them.
"""

import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
import time
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from app.auth import Principal
from app.jobs import Jobs
from app.jobs.metrics import JOB_DURATION, JOBS, JOBS_RUNNING, QUEUE_DEPTH
from app.jobs.models import ROUTES, JobError
from app.jobs.store import Job
from app.queues import Message, QueueError
from app.settings import Settings, SettingsError, load_settings

log = logging.getLogger("app.worker")

JOB_PRINCIPAL = "ai.job_principal"  # the ASGI scope key the worker puts the job's caller under
RECEIVE_WAIT_S = 5.0
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


async def job_principal(request: Request) -> Principal:
    """Replaces authentication in the worker's app only: the caller is the job's submitter."""
    who = request.scope.get(JOB_PRINCIPAL)
    if not isinstance(who, Principal):
        raise HTTPException(401, "only job requests reach the worker's app")
    return who


async def call_route(
    app: FastAPI, path: str, body: dict[str, Any], who: Principal, ip: str, request_id: str
) -> tuple[int, dict[str, str], bytes]:
    """One in-process POST through the whole ASGI app (middleware included): status, headers, body."""
    data = json.dumps(body, separators=(",", ":")).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
            (b"x-request-id", request_id.encode()),
        ],
        "client": (ip, 0),
        "server": ("worker", 0),
        "state": {},
        JOB_PRINCIPAL: who,
    }
    sent = False
    status, headers, chunks = 500, {}, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the "client" waits for the whole answer
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)  # pyright: ignore[reportArgumentType]
    return status, headers, b"".join(chunks)


def backoff(attempt: int, base_s: float, max_s: float, retry_after: float | None) -> float:
    """Full-jitter exponential backoff for job attempts, never shorter than the answer's Retry-After."""
    delay = random.uniform(0, min(max_s, base_s * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not cryptography
    return min(max_s, max(delay, retry_after or 0.0))


def error_of(status: int, body: bytes) -> JobError:
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        detail = body.decode("utf-8", "replace")
    message = detail if isinstance(detail, str) else json.dumps(detail)
    return JobError(status=status, message=message[:2000] or f"HTTP {status}")


def retry_after_of(headers: dict[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


class Worker:
    def __init__(self, app: FastAPI, jobs: Jobs, settings: Settings) -> None:
        self.app = app
        self.jobs = jobs
        self.settings = settings
        self.stopping = asyncio.Event()
        self.running: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping: no new jobs; draining %d running", len(self.running))
            self.stopping.set()

    async def run(self) -> None:
        depth = asyncio.create_task(self._sample_depth())
        try:
            await self._consume()
            await self._drain()
        finally:
            depth.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await depth

    async def _consume(self) -> None:
        queue, failures = self.jobs.queue, 0
        while not self.stopping.is_set():
            free = self.settings.worker_concurrency - len(self.running)
            if free <= 0:  # every slot busy: wait for one (a stop ends the wait through _handle's tasks)
                await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                messages = await queue.receive(free, self.settings.job_lease_s, RECEIVE_WAIT_S)
                failures = 0
            except QueueError as exc:
                failures += 1
                log.error("receive failed (%d in a row): %s", failures, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), backoff(failures, 1.0, 30.0, None))
                continue
            for message in messages:
                if self.stopping.is_set():  # arrived while stopping: give it straight back
                    await self._give_back(message)
                    continue
                task = asyncio.create_task(self._guarded(message))
                self.running.add(task)
                task.add_done_callback(self.running.discard)

    async def _drain(self) -> None:
        if self.running:
            _done, late = await asyncio.wait(self.running, timeout=self.settings.graceful_shutdown_s)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d jobs did not finish within APP_GRACEFUL_SHUTDOWN_S: given back", len(late))
                await asyncio.gather(*late, return_exceptions=True)
        log.info("drained")

    async def _give_back(self, message: Message) -> None:
        with contextlib.suppress(QueueError):
            await self.jobs.queue.retry_later(message, 0)

    async def _sample_depth(self) -> None:
        queue = self.jobs.queue
        gauge = QUEUE_DEPTH.labels(queue.backend, queue.name)
        while True:
            try:
                depth = await queue.depth()
                if depth is not None:
                    gauge.set(depth)
            except QueueError as exc:
                log.warning("queue depth unavailable: %s", exc)
            await asyncio.sleep(self.settings.queue_depth_interval_s)

    async def _heartbeat(self, message: Message) -> None:
        """Renew the lease while the job runs, so a long job is never handed to a second worker."""
        while True:
            await asyncio.sleep(max(0.5, self.settings.job_lease_s / 3))
            try:
                await self.jobs.queue.extend(message, self.settings.job_lease_s)
            except QueueError as exc:
                log.warning("lease renewal failed for message %s: %s", message.id, exc)

    async def _guarded(self, message: Message) -> None:
        """A queue or store failure leaves the message leased: it comes back when the lease runs out."""
        try:
            await self._handle(message)
        except (QueueError, RedisError) as exc:
            log.error("message %s not settled (it will be delivered again): %s", message.id, exc)
        except Exception:
            log.exception("message %s not settled (it will be delivered again)", message.id)

    async def _handle(self, message: Message) -> None:
        store, queue = self.jobs.store, self.jobs.queue
        try:
            job_id = json.loads(message.body)["job_id"]
            assert isinstance(job_id, str)
        except (ValueError, KeyError, TypeError, AssertionError):
            log.error("malformed message %s: dead-lettered", message.id)
            await queue.dead_letter(message, 'malformed message: not {"job_id": ...}')
            return
        attempt, status = await store.start(job_id)
        if attempt == 0:  # finished by an earlier delivery, or expired: nothing left to do
            log.info("job %s is %s: message dropped", job_id, status or "gone (expired)")
            await queue.ack(message)
            return
        job = await store.get(job_id)
        if job is None:
            await queue.ack(message)
            return
        if attempt > self.settings.job_max_attempts:  # every earlier attempt died with its worker
            error = JobError(status=500, message=f"the worker stopped during each of {attempt - 1} attempts")
            await self._dead_letter(job, message, error)
            return
        heartbeat = asyncio.create_task(self._heartbeat(message))
        JOBS_RUNNING.inc()
        started = time.perf_counter()
        try:
            status, headers, body = await self._execute(job, attempt)
        except asyncio.CancelledError:
            JOBS.labels(job.kind, "released").inc()
            await store.release(job.id)
            await self._give_back(message)
            raise
        finally:
            heartbeat.cancel()
            JOBS_RUNNING.dec()
            JOB_DURATION.labels(job.kind).observe(time.perf_counter() - started)
        await self._settle(job, message, attempt, status, headers, body)

    async def _execute(self, job: Job, attempt: int) -> tuple[int, dict[str, str], bytes]:
        try:
            return await call_route(self.app, ROUTES[job.kind], job.request, job.owner, job.ip, f"{job.id}.{attempt}")
        except Exception as exc:  # a bug or a dependency failure: retried like a 500
            log.exception("job %s attempt %d raised", job.id, attempt)
            return 500, {}, json.dumps({"detail": f"the worker failed: {type(exc).__name__}"}).encode()

    async def _settle(
        self, job: Job, message: Message, attempt: int, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        """Record the outcome before acking, so a crash in between only repeats a finished job's ack."""
        store, queue = self.jobs.store, self.jobs.queue
        if 200 <= status < 300:
            await store.finish(job.id, "succeeded", result=json.loads(body))
            await queue.ack(message)
            JOBS.labels(job.kind, "succeeded").inc()
            return
        error = error_of(status, body)
        if status not in RETRYABLE:
            log.info("job %s failed for good: %d %s", job.id, status, error.message)
            await store.finish(job.id, "failed", error=error)
            await queue.ack(message)
            JOBS.labels(job.kind, "failed").inc()
            return
        if attempt >= self.settings.job_max_attempts:
            await self._dead_letter(job, message, error)
            return
        s = self.settings
        delay = backoff(attempt, s.job_backoff_base_s, s.job_backoff_max_s, retry_after_of(headers))
        log.info("job %s attempt %d failed (%d); retry in %.1fs", job.id, attempt, status, delay)
        await store.retrying(job.id, error)
        await queue.retry_later(message, delay)
        JOBS.labels(job.kind, "retried").inc()

    async def _dead_letter(self, job: Job, message: Message, error: JobError) -> None:
        log.warning("job %s dead-lettered after %d attempts: %s", job.id, self.settings.job_max_attempts, error.message)
        await store_then_dead_letter(self.jobs, job.id, message, error)
        JOBS.labels(job.kind, "dead_letter").inc()


async def store_then_dead_letter(jobs: Jobs, job_id: str, message: Message, error: JobError) -> None:
    await jobs.store.finish(job_id, "dead_letter", error=error)
    await jobs.queue.dead_letter(message, f"{error.status}: {error.message}")


async def serve(settings: Settings) -> None:
    from app.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.authenticator = job_principal  # every route authenticates through it (app.api.deps)
        jobs: Jobs = app.state.jobs
        worker = Worker(app, jobs, settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        if settings.worker_metrics_port:
            start_http_server(settings.worker_metrics_port, addr=settings.host)
        log.info(
            "worker consuming",
            extra={"backend": jobs.queue.backend, "queue": jobs.queue.name, "concurrency": settings.worker_concurrency},
        )
        await worker.run()


def main() -> None:
    try:
        settings = load_settings()
        if settings.queue_backend is None:
            raise SettingsError(
                "the worker needs APP_QUEUE_BACKEND (sqs, pubsub, servicebus or redis) and APP_QUEUE_URL"
            )
        import uvloop

        uvloop.run(serve(settings))
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
