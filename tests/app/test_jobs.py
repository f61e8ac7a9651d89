"""Async jobs end to end: the app (`python -m app`) takes jobs, workers (`python -m app.worker`) run them.

Real processes on real servers: redis-server (job store, Redis Streams), moto's SQS server and
the Pub/Sub emulator; workers are killed with real signals.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.app.queue_servers import PubSubEmulator, SqsServer
from tests.app.support import (
    API_KEY,
    BASE_ENV,
    OTHER_KEY,
    REPO,
    AppProcess,
    RedisServer,
    StartApp,
    Upstream,
    free_port,
    routing_table,
    run_app,
)

TERMINAL = {"succeeded", "failed", "dead_letter"}
GENERATE = {"kind": "generate", "request": {"prompt": "Say hello", "max_tokens": 50, "model": "plain"}}


@dataclass
class WorkerProcess:
    proc: subprocess.Popen
    log_path: Path
    metrics_port: int

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics").text


@dataclass
class Stack:
    """An app and the env its workers share (the same settings, as the platform runs them)."""

    app: AppProcess
    env: dict[str, str]
    start_worker: Callable[..., WorkerProcess]

    def client(self, key: str = API_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.app.url, headers={"authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="session")
def jobs_routing(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shared fake routing table plus job aliases: slow but fine, rejected (400), scripted flakiness, bullets."""
    table = routing_table(upstream.url)
    table["models"].update(
        {
            "slow-ok": [{"provider": "primary", "model": "delay=3"}],
            "rejected": [{"provider": "primary", "model": "status=400"}],
            "flaky": [{"provider": "primary", "model": "flaky-job"}],
            "bullets": [{"provider": "primary", "model": "chunks=12;bullets"}],
        }
    )
    path = tmp_path_factory.mktemp("jobs") / "routing.yaml"
    path.write_text(yaml.safe_dump(table))
    return str(path)


@pytest.fixture(scope="session")
def make_stack(
    start_app: StartApp, redis_server: RedisServer, jobs_routing: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Stack]]:
    workers: list[WorkerProcess] = []

    def make(queue_env: dict[str, str], **extra: str) -> Stack:
        env = {
            "APP_REDIS_URL": redis_server.url,
            "APP_ROUTING_FILE": jobs_routing,
            "APP_READ_TIMEOUT_S": "10",
            "APP_JOB_MAX_ATTEMPTS": "2",
            "APP_JOB_BACKOFF_BASE_S": "0.2",
            "APP_JOB_BACKOFF_MAX_S": "1",
            "APP_JOB_LEASE_S": "2",
            "APP_QUEUE_DEPTH_INTERVAL_S": "0.2",
            **queue_env,
            **extra,
        }
        app = start_app(env)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
        full_env.update({**BASE_ENV, **env, "APP_HOST": "127.0.0.1", "PYTHONPATH": str(REPO)})

        def start_worker(**overrides: str) -> WorkerProcess:
            port = free_port()
            log_path = tmp_path_factory.mktemp("worker") / "worker.log"
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.worker"],
                cwd=REPO,
                env={**full_env, "APP_WORKER_METRICS_PORT": str(port), **overrides},
                stdout=log_path.open("w"),
                stderr=subprocess.STDOUT,
            )
            worker = WorkerProcess(proc, log_path, port)
            workers.append(worker)
            return worker

        return Stack(app, full_env, start_worker)

    yield make
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(10)


def redis_env() -> dict[str, str]:
    return {"APP_QUEUE_BACKEND": "redis", "APP_QUEUE_URL": f"jobs-{uuid.uuid4().hex[:10]}"}


@pytest.fixture(scope="module")
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """One app on a Redis stream with one worker running, for the tests that need no special worker."""
    made = make_stack(redis_env())
    made.start_worker()
    return made


def submit(client: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"idempotency-key": key} if key else {}
    return client.post("/v1/jobs", json=body, headers=headers)


def wait_for(client: httpx.Client, job_id: str, states: set[str], timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {states} within {timeout}s: {job}")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (GENERATE, "/generate"),
        ({"kind": "summarize", "request": {"text": "Long text to shorten.", "model": "bullets"}}, "/summarize"),
        (
            {"kind": "chat", "request": {"model": "plain", "messages": [{"role": "user", "content": "hi"}]}},
            "/v1/chat/completions",
        ),
    ],
)
def test_a_job_answers_202_then_holds_what_the_sync_route_answers(
    stack: Stack, body: dict[str, Any], path: str
) -> None:
    with stack.client() as client:
        r = submit(client, body)
        assert r.status_code == 202, r.text
        job = r.json()
        assert re.fullmatch(r"job_[0-9a-f]{32}", job["id"])
        assert job["status"] == "queued" and job["attempts"] == 0 and job["result"] is None
        assert r.headers["location"] == f"/v1/jobs/{job['id']}"
        assert r.headers["x-request-id"]
        done = wait_for(client, job["id"], TERMINAL)
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 1
        sync = client.post(path, json=body["request"]).json()
    for volatile in ("id", "created", "cached"):  # the job's run filled the cache for summarize (temperature 0)
        sync.pop(volatile, None)
        done["result"].pop(volatile, None)
    assert done["result"] == sync
    assert done["expires_at"] > time.time() + 3600


@pytest.mark.parametrize(
    ("body", "headers", "loc", "fragment"),
    [
        ({"request": GENERATE["request"]}, {}, ["body"], "'kind'"),
        ({"kind": "translate", "request": {}}, {}, ["body"], "'generate', 'summarize', 'chat'"),
        ({"kind": "generate", "request": {"prompt": ""}}, {}, ["body", "generate", "request", "prompt"], "at least 1"),
        (
            {"kind": "generate", "request": {"prompt": "hi", "stream": True}},
            {},
            ["body", "generate", "request", "stream"],
            "never streamed",
        ),
        (
            {"kind": "chat", "request": {"model": "plain", "messages": [{"role": "user"}], "stream": 0}},
            {},
            ["body", "chat", "request", "stream"],
            "valid boolean",
        ),
        ({**GENERATE, "priority": 1}, {}, ["body", "generate", "priority"], "Extra inputs are not permitted"),
        (
            {"kind": "chat", "request": {"model": "plain", "messages": [], "colour": 1}},
            {},
            ["body", "chat", "request", "messages"],
            "at least 1 item",
        ),
        (
            {"kind": "summarize", "request": {"text": "t", "model": "nope"}},
            {},
            ["body", "request", "model"],
            "unknown model 'nope'",
        ),
        (GENERATE, {"idempotency-key": "x" * 256}, ["header", "Idempotency-Key"], "at most 255"),
        (GENERATE, {"idempotency-key": "has space"}, ["header", "Idempotency-Key"], "pattern"),
    ],
)
def test_bad_job_input_gets_a_422_naming_the_field(
    stack: Stack, body: dict[str, Any], headers: dict[str, str], loc: list[str], fragment: str
) -> None:
    with stack.client() as client:
        r = client.post("/v1/jobs", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["x-request-id"]
    errors = r.json()["detail"]
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_a_bad_job_id_is_a_422_and_an_unknown_one_a_404(stack: Stack) -> None:
    with stack.client() as client:
        bad = client.get("/v1/jobs/not-a-job")
        missing = client.get(f"/v1/jobs/job_{uuid.uuid4().hex}")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "job_id"]
    assert missing.status_code == 404 and "no job" in missing.json()["detail"]


def test_jobs_need_credentials_and_are_private_to_their_caller(stack: Stack) -> None:
    with stack.client() as client, stack.client(OTHER_KEY) as other:
        job_id = submit(client, GENERATE).json()["id"]
        assert other.get(f"/v1/jobs/{job_id}").status_code == 404
        assert client.get(f"/v1/jobs/{job_id}").status_code == 200
    assert httpx.post(f"{stack.app.url}/v1/jobs", json=GENERATE).status_code == 401
    assert httpx.get(f"{stack.app.url}/v1/jobs/{job_id}").status_code == 401


def test_an_idempotency_key_returns_the_same_job(stack: Stack) -> None:
    key = f"order-{uuid.uuid4().hex}"
    with stack.client() as client, stack.client(OTHER_KEY) as other:
        first = submit(client, GENERATE, key)
        again = submit(client, GENERATE, key)
        assert first.status_code == again.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
        changed = submit(client, {**GENERATE, "request": {"prompt": "Something else"}}, key)
        assert changed.status_code == 409
        assert f"Idempotency-Key {key!r} was already used with a different body" in changed.json()["detail"]
        theirs = submit(other, GENERATE, key)  # keys are per caller
        assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
        assert wait_for(client, first.json()["id"], TERMINAL)["status"] == "succeeded"


def test_a_failed_attempt_is_retried_with_backoff(stack: Stack, upstream: Upstream) -> None:
    upstream.script("flaky-job", ["status=500", "status=500"])  # the gateway's own retry sees both
    with stack.client() as client:
        job_id = submit(client, {"kind": "generate", "request": {"prompt": "hi", "model": "flaky"}}).json()["id"]
        done = wait_for(client, job_id, TERMINAL)
    assert done["status"] == "succeeded" and done["attempts"] == 2, done
    assert done["error"] is None
    assert len(upstream.requests("flaky-job")) == 3  # attempt 1: two failed calls (502), attempt 2: one


def test_a_request_error_fails_the_job_without_retrying(stack: Stack) -> None:
    with stack.client() as client:
        job_id = submit(client, {"kind": "generate", "request": {"prompt": "hi", "model": "rejected"}}).json()["id"]
        done = wait_for(client, job_id, TERMINAL)
    assert done["status"] == "failed" and done["attempts"] == 1, done
    assert done["error"]["status"] == 400 and "upstream rejected" in done["error"]["message"]


def test_after_the_last_attempt_a_job_goes_to_the_dead_letter(stack: Stack, redis_server: RedisServer) -> None:
    with stack.client() as client:
        job_id = submit(client, {"kind": "generate", "request": {"prompt": "hi", "model": "broken"}}).json()["id"]
        done = wait_for(client, job_id, TERMINAL)
    assert done["status"] == "dead_letter" and done["attempts"] == 2, done
    assert done["error"]["status"] in (502, 503)
    dead = redis_server.cli("xrange", f"{stack.env['APP_QUEUE_URL']}:dead", "-", "+")
    assert job_id in dead


def test_results_expire(make_stack: Callable[..., Stack], redis_server: RedisServer) -> None:
    made = make_stack(redis_env(), APP_JOB_TTL_S="60")
    made.start_worker()
    with made.client() as client:
        job_id = submit(client, GENERATE).json()["id"]
        done = wait_for(client, job_id, TERMINAL)
        assert done["status"] == "succeeded"
        assert 0 < int(redis_server.cli("ttl", f"aijob:job:{job_id}")) <= 60
        # Redis ends the record at its TTL; let it end now rather than wait a minute (a busy
        # machine must not make the job outlive a short TTL before it finishes)
        redis_server.cli("pexpire", f"aijob:job:{job_id}", "1")
        time.sleep(0.2)
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404


def _queue_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    name = f"kill{uuid.uuid4().hex[:10]}"
    if backend == "redis":
        return redis_env()
    if backend == "sqs":
        sqs: SqsServer = request.getfixturevalue("sqs_server")
        url, dead = sqs.new_queue(name)
        return {**sqs.env, "APP_QUEUE_BACKEND": "sqs", "APP_QUEUE_URL": url, "APP_QUEUE_DEAD_LETTER_URL": dead}
    emulator: PubSubEmulator = request.getfixturevalue("pubsub_emulator")
    topic, subscription, _dead = emulator.new_topic(name)
    return {
        "PUBSUB_EMULATOR_HOST": emulator.host,
        "APP_QUEUE_BACKEND": "pubsub",
        "APP_QUEUE_URL": topic,
        "APP_QUEUE_SUBSCRIPTION": subscription,
    }


@pytest.mark.parametrize("backend", ["redis", "sqs", "pubsub"])
def test_a_job_whose_worker_is_killed_is_run_again(
    make_stack: Callable[..., Stack], request: pytest.FixtureRequest, backend: str
) -> None:
    """SIGKILL mid-job: the lease (pending-entry idle time, visibility timeout, ack deadline) runs out."""
    made = make_stack(_queue_env(backend, request))
    with made.client() as client:
        job_id = submit(client, {"kind": "generate", "request": {"prompt": "hi", "model": "slow-ok"}}).json()["id"]
        first = made.start_worker()
        wait_for(client, job_id, {"running"})
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "running"  # nobody finished it
        made.start_worker()
        done = wait_for(client, job_id, TERMINAL, timeout=60)
    assert done["status"] == "succeeded" and done["attempts"] == 2, done


def test_sigterm_drains_running_jobs_then_exits(make_stack: Callable[..., Stack]) -> None:
    made = make_stack(redis_env())
    worker = made.start_worker()
    with made.client() as client:
        job_id = submit(client, {"kind": "generate", "request": {"prompt": "hi", "model": "slow-ok"}}).json()["id"]
        wait_for(client, job_id, {"running"})
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(30) == 0
        assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "succeeded"  # finished before exiting


def test_a_job_not_done_within_the_grace_period_is_given_back(make_stack: Callable[..., Stack]) -> None:
    made = make_stack(redis_env())
    worker = made.start_worker(APP_GRACEFUL_SHUTDOWN_S="1")
    with made.client() as client:
        job_id = submit(client, {"kind": "generate", "request": {"prompt": "hi", "model": "slow-ok"}}).json()["id"]
        wait_for(client, job_id, {"running"})
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(30) == 0
        released = client.get(f"/v1/jobs/{job_id}").json()
        assert released["status"] == "queued" and released["attempts"] == 0, released  # no attempt spent
        made.start_worker()
        done = wait_for(client, job_id, TERMINAL)
    assert done["status"] == "succeeded" and done["attempts"] == 1


def test_concurrency_is_bounded_and_queue_depth_is_exported(make_stack: Callable[..., Stack]) -> None:
    made = make_stack(redis_env())
    slow = {"kind": "generate", "request": {"prompt": "hi", "model": "slow-ok"}}
    with made.client() as client:
        ids = [submit(client, slow).json()["id"] for _ in range(4)]
        worker = made.start_worker(APP_WORKER_CONCURRENCY="2")
        depths, most_running, states = set(), 0, []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            states = [client.get(f"/v1/jobs/{i}").json()["status"] for i in ids]
            try:  # the worker's own gauge: the statuses above are read one by one, not at one instant
                metrics = worker.metrics()
            except httpx.HTTPError:
                metrics = ""
            found = re.search(r'^ai_queue_depth\{backend="redis",queue="[^"]+"\} (\S+)$', metrics, re.M)
            if found:
                depths.add(float(found.group(1)))
            running = re.search(r"^ai_jobs_in_progress (\S+)$", metrics, re.M)
            if running:
                most_running = max(most_running, int(float(running.group(1))))
            if all(s == "succeeded" for s in states):
                break
            time.sleep(0.1)
    assert all(s == "succeeded" for s in states), states
    assert most_running == 2
    assert 2.0 in depths and 0.0 in depths, depths  # two waiting while two ran, then none
    assert 'ai_jobs_total{kind="generate",outcome="succeeded"} 4.0' in worker.metrics()


def test_the_job_routes_exist_only_with_a_queue(client: httpx.Client) -> None:
    assert client.post("/v1/jobs", json=GENERATE).status_code == 404


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({}, "the worker needs APP_QUEUE_BACKEND"),
        ({"APP_QUEUE_BACKEND": "kafka"}, "APP_QUEUE_BACKEND (got 'kafka')"),
        ({"APP_QUEUE_BACKEND": "redis", "APP_QUEUE_URL": "jobs"}, "needs APP_REDIS_URL"),
    ],
)
def test_the_worker_refuses_a_bad_configuration(env: dict[str, str], fragment: str) -> None:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "APP_AUTH_REQUIRED": "false", "APP_DEV_PROVIDER": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "app.worker"], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr


def test_the_app_refuses_a_queue_url_of_the_wrong_shape() -> None:
    env = {"APP_REDIS_URL": "redis://127.0.0.1:1/0", "APP_QUEUE_BACKEND": "sqs", "APP_QUEUE_URL": "my-queue"}
    done = run_app({"APP_AUTH_REQUIRED": "false", **env})
    assert done.returncode == 2
    assert "APP_QUEUE_URL='my-queue' is not a sqs queue" in done.stderr


def test_a_job_the_queue_refuses_is_a_503_and_leaves_nothing_behind(
    make_stack: Callable[..., Stack], sqs_server: SqsServer
) -> None:
    """The queue does not exist yet: 503; once it does, a retry with the same Idempotency-Key is a fresh job."""
    name = f"late{uuid.uuid4().hex[:8]}"
    url = f"{sqs_server.endpoint}/123456789012/{name}"
    made = make_stack({**sqs_server.env, "APP_QUEUE_BACKEND": "sqs", "APP_QUEUE_URL": url})
    key = f"k-{uuid.uuid4().hex}"
    with made.client() as client:
        refused = submit(client, GENERATE, key)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1", refused.text
        assert refused.json()["detail"] == "the job queue is unavailable"
        assert sqs_server.client().create_queue(QueueName=name)["QueueUrl"].endswith(f"/{name}")
        again = submit(client, GENERATE, key)
    assert again.status_code == 202 and "idempotent-replayed" not in again.headers, again.text
