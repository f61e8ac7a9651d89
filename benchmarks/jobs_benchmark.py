"""Benchmark async jobs on Redis Streams: submission latency beside a synchronous call, and worker throughput.

Runs, in one go: redis-server and the fake upstream on free loopback ports, the app (`python -m
app`, Redis limits off) and `python -m app.worker` processes. It prints, side by side in one run:
the p50/p99 of a sequential synchronous `POST /v1/chat/completions` and of a `POST /v1/jobs`
(store + enqueue); the queue-to-done latency of jobs submitted one at a time to an idle worker
(from the job's own timestamps); the worker's resident memory; then, for a backlog queued while
no worker runs, how fast one and two workers (each at --concurrency) drain it, from the first to
the last completion. Everything shares this machine's cores with the load generator.

Usage: python benchmarks/jobs_benchmark.py [--requests 300] [--jobs 400] [--concurrency 16]
"""

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_benchmark import FAKE, REPO, free_port, pct, rss_mb, start, wait_http

KEY = "bench-key-0123456789"
CHAT = {"model": "bench", "messages": [{"role": "user", "content": "Say something short."}], "max_tokens": 32}
JOB = {"kind": "chat", "request": CHAT}


def sequential(client: httpx.Client, path: str, body: dict, n: int, expect: int) -> tuple[list[float], list[str]]:
    """Latencies of n calls one after another, and the ids answered."""
    out, ids = [], []
    for _ in range(n):
        started = time.perf_counter()
        r = client.post(path, json=body)
        out.append(time.perf_counter() - started)
        assert r.status_code == expect, r.text
        ids.append(r.json()["id"])
    return out, ids


async def submit_many(url: str, n: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {KEY}"}, timeout=30) as client:
        gate = asyncio.Semaphore(32)

        async def one() -> str:
            async with gate:
                r = await client.post("/v1/jobs", json=JOB)
                assert r.status_code == 202, r.text
                return r.json()["id"]

        return await asyncio.gather(*(one() for _ in range(n)))


def wait_done(client: httpx.Client, ids: list[str], timeout: float) -> list[dict]:
    deadline, pending, done = time.monotonic() + timeout, list(ids), []
    while pending and time.monotonic() < deadline:
        still = []
        for job_id in pending:
            job = client.get(f"/v1/jobs/{job_id}").json()
            (done if job["status"] == "succeeded" else still).append(job if job["status"] == "succeeded" else job_id)
        pending = still
        if pending:
            time.sleep(0.05)
    if pending:
        raise RuntimeError(f"{len(pending)} jobs not done within {timeout}s")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="sequential calls per kind")
    parser.add_argument("--jobs", type=int, default=400, help="backlog size for the throughput runs")
    parser.add_argument("--concurrency", type=int, default=16, help="APP_WORKER_CONCURRENCY")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    procs: list[subprocess.Popen] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    try:
        redis_port = free_port()
        redis_bin = shutil.which("redis-server") or "/usr/bin/redis-server"
        cmd = [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        procs.append(start(cmd, env, work / "redis.log"))
        up_port = free_port()
        upstream = start([sys.executable, str(FAKE), "--port", str(up_port)], env, work / "upstream.log")
        procs.append(upstream)
        wait_http(f"http://127.0.0.1:{up_port}/v1/models", 20, upstream)
        routing = {
            "providers": {"up": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{up_port}/v1"}},
            "models": {"bench": [{"provider": "up", "model": "bench"}]},
        }
        (work / "routing.yaml").write_text(json.dumps(routing))
        app_port = free_port()
        app_env = {
            **env,
            "PYTHONPATH": str(REPO),
            "APP_PORT": str(app_port),
            "APP_HOST": "127.0.0.1",
            "APP_ROUTING_FILE": str(work / "routing.yaml"),
            "APP_LOG_LEVEL": "warning",
            "APP_API_KEYS_SHA256": "bench:" + hashlib.sha256(KEY.encode()).hexdigest(),
            "APP_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "APP_CACHE_TTL_S": "0",
            **{f"APP_{n}": "0" for n in ("RPM_PER_KEY", "RPM_PER_IP", "TPM_PER_KEY", "TPM_PER_IP")},
            "APP_QUEUE_BACKEND": "redis",
            "APP_QUEUE_URL": f"bench-{uuid.uuid4().hex[:8]}",
            "APP_WORKER_CONCURRENCY": str(args.concurrency),
        }
        app = start([sys.executable, "-m", "app"], app_env, work / "app.log")
        procs.append(app)
        url = f"http://127.0.0.1:{app_port}"
        wait_http(f"{url}/health", 30, app)
        client = httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}, timeout=30)

        def worker(name: str) -> subprocess.Popen:
            proc = start([sys.executable, "-m", "app.worker"], {**app_env, "APP_WORKER_METRICS_PORT": "0"}, work / name)
            procs.append(proc)
            return proc

        sequential(client, "/v1/chat/completions", CHAT, 50, 200)  # warm-up
        _, warm = sequential(client, "/v1/jobs", JOB, 50, 202)
        sync, _ = sequential(client, "/v1/chat/completions", CHAT, args.requests, 200)
        submit, queued = sequential(client, "/v1/jobs", JOB, args.requests, 202)
        first = worker("worker-1.log")
        wait_done(client, [*warm, *queued], 120)  # the worker warms up on these
        latency = []
        for _ in range(50):
            (job,) = wait_done(client, [client.post("/v1/jobs", json=JOB).json()["id"]], 30)
            latency.append(job["updated_at"] - job["created_at"])
        rss = rss_mb(first.pid)
        first.terminate()
        first.wait(30)
        rates = {}
        for count in (1, 2):  # a backlog queued with no worker running, then `count` workers drain it
            ids = asyncio.run(submit_many(url, args.jobs))
            drainers = [worker(f"drain-{count}-{i}.log") for i in range(count)]
            done = sorted(j["updated_at"] for j in wait_done(client, ids, 300))
            rates[count] = (len(done) - 1) / (done[-1] - done[0])  # first to last completion: no start-up
            for proc in drainers:
                proc.terminate()
                proc.wait(30)
        print(f"\n{'':34} {'p50 ms':>8} {'p99 ms':>8}")
        for name, values in (
            ("sync POST /v1/chat/completions", sync),
            ("POST /v1/jobs (store + enqueue)", submit),
            ("job queue-to-done (idle worker)", latency),
        ):
            print(f"{name:34} {pct(values, 0.5) * 1000:8.2f} {pct(values, 0.99) * 1000:8.2f}")
        for count, rate in rates.items():
            print(f"drain {args.jobs} queued jobs with {count} worker(s) x {args.concurrency}: {rate:.0f} jobs/s")
        print(f"worker RSS after {len(warm) + len(queued) + 50} jobs: {rss:.1f} MB")
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
