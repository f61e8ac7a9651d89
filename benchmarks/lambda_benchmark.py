"""The app under the Lambda adapter (Mangum, in process) against the same app over HTTP, in one run.

Measures, in front of one fake upstream (tests/app/fake_upstream.py), with the same settings:
- the cold start of an execution environment in process: settings, the app, its lifespan (what
  ``app.lambda_handler.build`` does, secrets aside: they come from the environment here);
- per request, ``POST /generate`` as an API Gateway REST proxy event handed to the handler, and as
  an HTTP request to ``python -m app`` (uvicorn) on loopback: p50 and p99, in interleaved rounds so
  a busy moment of the shared machine hits both alike.
What it does not measure: Lambda's own cold start (image pull, runtime init) and API Gateway's
latency, which only a deployed stack shows.

Usage: python benchmarks/lambda_benchmark.py [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.app.support import API_KEY, BASE_ENV, free_port, routing_table, wait_until  # noqa: E402
from tests.app.test_lambda import rest_event  # noqa: E402

BODY = {"prompt": "Say hello", "model": "plain", "max_tokens": 50}
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per target per round")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lambda-bench-"))
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "app" / "fake_upstream.py"), "--port", str(upstream_port)]
    )
    app_process: subprocess.Popen[bytes] | None = None
    try:
        upstream_url = f"http://127.0.0.1:{upstream_port}"
        wait_until(lambda: httpx.get(f"{upstream_url}/v1/models").status_code == 200, 10, "fake upstream", upstream)
        routing = work / "routing.yaml"
        routing.write_text(yaml.safe_dump(routing_table(upstream_url)))
        settings = {
            **BASE_ENV,
            "APP_ROUTING_FILE": str(routing),
            "APP_RESPONSE_STREAMING": "false",
            "APP_LOG_LEVEL": "warning",
            # no limit may refuse a request of the benchmark (their cost is app_benchmark.py's subject)
            **{f"APP_{name}": "0" for name in ("RPM_PER_KEY", "RPM_PER_IP", "TPM_PER_KEY", "TPM_PER_IP")},
        }
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
        env.update({**settings, "APP_PORT": str(port), "APP_HOST": "127.0.0.1", "PYTHONPATH": str(REPO)})
        app_process = subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO, env=env, stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, 30, "app", app_process)

        os.environ.update(settings)
        from app import lambda_handler

        started = time.perf_counter()
        adapter = lambda_handler.build(environ=os.environ, fetch=lambda arn: "")
        cold_ms = (time.perf_counter() - started) * 1000

        event = rest_event("POST", "/generate", BODY, HEADERS)
        timings: dict[str, list[float]] = {"lambda (Mangum, in process)": [], "http (uvicorn, loopback)": []}
        with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
            for _ in range(options.rounds):
                for name in timings:
                    for _ in range(options.requests):
                        begin = time.perf_counter()
                        if name.startswith("lambda"):
                            status = adapter(event, cast(Any, None))["statusCode"]
                        else:
                            status = client.post("/generate", json=BODY).status_code
                        timings[name].append((time.perf_counter() - begin) * 1000)
                        if status != 200:
                            raise SystemExit(f"{name}: status {status}")
        print(f"cold start in process (settings, app, lifespan): {cold_ms:.1f} ms")
        print(f"{'target':32} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}  ({options.rounds} x {options.requests})")
        for name, samples in timings.items():
            print(
                f"{name:32} {percentile(samples, 0.5):8.2f} {percentile(samples, 0.99):8.2f} "
                f"{statistics.fmean(samples):8.2f}"
            )
    finally:
        for process in (app_process, upstream):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
