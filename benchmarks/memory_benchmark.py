"""What conversation memory adds to a request: the same chat call with and without `session_id`, side by side.

Starts a throwaway redis-server, the fake upstream (tests/app/fake_upstream.py) and the app (`python -m
app`, Redis-backed limits off, memory on with its defaults), then sends alternating requests on one
keep-alive connection: plain, and continuing one long session (so it reads the session, assembles the
prompt under the token budget, appends the turns and, every few turns, summarises in the background).
Prints p50/p99 of both, the added milliseconds, and how many messages the last session prompt held.

Usage: python benchmarks/memory_benchmark.py [--requests 300]
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.app_benchmark import FAKE, KEY, REPO, free_port, pct, start, wait_http


def main() -> None:
    parser = argparse.ArgumentParser(description="What conversation memory adds to a chat request.")
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind (after 30 warm-up)")
    args = parser.parse_args()
    redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
    work = Path(tempfile.mkdtemp(prefix="memory-bench-"))
    redis_port, upstream_port, app_port = free_port(), free_port(), free_port()
    routing = {
        "providers": {"fake": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{upstream_port}/v1"}},
        "models": {"bench": [{"provider": "fake", "model": "bench"}], "small": [{"provider": "fake", "model": "sm"}]},
        "tiers": {"small": "small"},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "APP_PORT": str(app_port),
            "APP_HOST": "127.0.0.1",
            "APP_ROUTING": json.dumps(routing),
            "APP_API_KEYS_SHA256": hashlib.sha256(KEY.encode()).hexdigest(),
            "APP_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "APP_CACHE_TTL_S": "0",
            "APP_LOG_LEVEL": "warning",
            **{f"APP_{n}": "0" for n in ("RPM_PER_KEY", "RPM_PER_IP", "TPM_PER_KEY", "TPM_PER_IP")},
        }
    )
    procs = [
        start(
            [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            env,
            work / "redis.log",
        ),
        start([sys.executable, str(FAKE), "--port", str(upstream_port)], env, work / "upstream.log"),
    ]
    try:
        wait_http(f"http://127.0.0.1:{upstream_port}/v1/models", 20, procs[1])
        procs.append(start([sys.executable, "-m", "app"], env, work / "app.log"))
        wait_http(f"http://127.0.0.1:{app_port}/health", 30, procs[2])
        run(app_port, upstream_port, args.requests)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def run(app_port: int, upstream_port: int, n: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app_port, timeout=30)
    headers = {"content-type": "application/json", "x-api-key": KEY}
    times: dict[str, list[float]] = {"plain": [], "session": []}
    for i in range(n + 30):
        for kind in ("plain", "session"):
            body: dict[str, object] = {"model": "bench", "messages": [{"role": "user", "content": f"question {i}"}]}
            if kind == "session":
                body["session_id"] = "bench-session"
            started = time.perf_counter()
            conn.request("POST", "/v1/chat/completions", json.dumps(body), headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{kind}: HTTP {response.status}")
            if i >= 30:
                times[kind].append(time.perf_counter() - started)
    conn.close()
    probe = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
    probe.request("GET", "/_control/requests")
    requests = json.loads(probe.getresponse().read())["requests"]
    last = next(r for r in reversed(requests) if r["model"] == "bench" and len(r["body"]["messages"]) > 1)
    summaries = sum(1 for r in requests if r["model"] == "sm")
    print(f"{n} requests of each kind, alternating, one keep-alive connection (after 30 warm-up pairs)")
    print(f"{'kind':<10}{'p50 ms':>10}{'p99 ms':>10}")
    for kind, values in times.items():
        print(f"{kind:<10}{pct(values, 0.5) * 1000:>10.3f}{pct(values, 0.99) * 1000:>10.3f}")
    added = (pct(times["session"], 0.5) - pct(times["plain"], 0.5)) * 1000
    print(f"memory adds {added:.3f} ms at p50; {summaries} background summaries by the small tier;")
    print(f"the last session prompt held {len(last['body']['messages'])} messages (summary + recent turns + new)")


if __name__ == "__main__":
    main()
