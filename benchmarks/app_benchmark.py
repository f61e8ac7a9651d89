"""Benchmark the app against direct upstream calls and LiteLLM's proxy, all in front of one fake upstream.

Runs, in one go: the fake upstream (tests/app/fake_upstream.py); the app (`python -m app`, API-key
auth on, in-process limiter); LiteLLM's proxy in a throwaway venv (created on first use at
$LITELLM_VENV, default ~/.cache/ai-platform/litellm-venv, with `pip install 'litellm[proxy]'`, so
its dependencies never enter the app's requirements). It prints added latency p50/p99 over direct
calls (sequential), throughput at concurrency 32, streaming time-to-first-token overhead, and
resident memory, for the app and for LiteLLM.

Usage: python benchmarks/app_benchmark.py [--requests 1000] [--skip-litellm] [--json out.json]
Targets (issue 4): added p50 <= 1 ms, >= 5x less added latency than LiteLLM, RSS <= 150 MB.
"""

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

REPO = Path(__file__).resolve().parents[1]
FAKE = REPO / "tests" / "app" / "fake_upstream.py"
KEY = "bench-key-0123456789"
LITELLM_KEY = "sk-bench-master-0123456789abcdef"  # both proxies check a key
BODY = {
    "model": "bench",
    "messages": [{"role": "user", "content": "Say something short."}],
    "max_tokens": 32,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (from /proc)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        pids += [int(c) for c in children]
    return total / 1024


class Target:
    def __init__(self, name: str, port: int, path: str, headers: dict[str, str], pid: int | None) -> None:
        self.name, self.port, self.path, self.headers, self.pid = (
            name,
            port,
            path,
            headers,
            pid,
        )

    def sequential(self, n: int, stream: bool) -> list[float]:
        """Latency (or time to the first content chunk when streaming) of n calls on one keep-alive connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps({**BODY, "stream": stream}).encode()
        headers = {"content-type": "application/json", **self.headers}
        times = []
        for _ in range(n):
            started = time.perf_counter()
            conn.request("POST", self.path, body, headers)
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"{self.name}: HTTP {response.status}: {response.read()[:200]!r}")
            if stream:
                first = None
                while line := response.readline():
                    if (
                        first is None
                        and b'"content":"' in line.replace(b" ", b"")
                        and b'"content":""' not in line.replace(b" ", b"")
                    ):
                        first = time.perf_counter() - started
                    if line.startswith(b"data: [DONE]"):
                        break
                response.read()
                times.append(first if first is not None else time.perf_counter() - started)
            else:
                response.read()
                times.append(time.perf_counter() - started)
        conn.close()
        return times

    async def throughput(self, total: int, concurrency: int) -> float:
        """Requests per second with `concurrency` workers on an aiohttp pool (a light client, so the
        figure is the server's rather than the load generator's)."""
        body = json.dumps({**BODY, "stream": False})
        headers = {"content-type": "application/json", **self.headers}
        url = f"http://127.0.0.1:{self.port}{self.path}"
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            remaining = total

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    async with session.post(url, data=body, headers=headers) as r:
                        await r.read()
                        if r.status != 200:
                            raise RuntimeError(f"{self.name}: HTTP {r.status}")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return total / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(target: Target, n: int, concurrency: int) -> dict[str, float]:
    target.sequential(max(50, n // 10), stream=False)  # warm-up
    latency = target.sequential(n, stream=False)
    target.sequential(20, stream=True)
    ttft = target.sequential(max(100, n // 4), stream=True)
    rps = asyncio.run(target.throughput(n * 2, concurrency))
    result = {
        "p50_ms": pct(latency, 0.50) * 1000,
        "p99_ms": pct(latency, 0.99) * 1000,
        "mean_ms": statistics.fmean(latency) * 1000,
        "ttft_p50_ms": pct(ttft, 0.50) * 1000,
        "rps_c32": rps,
    }
    if target.pid is not None:
        result["rss_mb"] = rss_mb(target.pid)
    return result


def litellm_python() -> Path:
    venv = Path(os.environ.get("LITELLM_VENV", Path.home() / ".cache" / "ai-platform" / "litellm-venv"))
    python = venv / "bin" / "python"
    if not (venv / "bin" / "litellm").exists():
        print(f"creating the LiteLLM venv at {venv} (one time)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "litellm[proxy]"], check=True)
    return venv


def start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path = REPO) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per target")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="app-bench-"))
    procs: list[subprocess.Popen] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    try:
        up_port = free_port()
        upstream = start(
            [sys.executable, str(FAKE), "--port", str(up_port)],
            env,
            work / "upstream.log",
        )
        procs.append(upstream)
        wait_http(f"http://127.0.0.1:{up_port}/v1/models", 20, upstream)

        app_port = free_port()
        routing = {
            "providers": {
                "up": {
                    "type": "openai_compatible",
                    "base_url": f"http://127.0.0.1:{up_port}/v1",
                }
            },
            "models": {"bench": [{"provider": "up", "model": "bench"}]},
        }
        (work / "routing.yaml").write_text(json.dumps(routing))
        app_env = {
            **env,
            "PYTHONPATH": str(REPO),
            "APP_PORT": str(app_port),
            "APP_HOST": "127.0.0.1",
            "APP_ROUTING_FILE": str(work / "routing.yaml"),
            "APP_LOG_LEVEL": "warning",
            "APP_API_KEYS_SHA256": "bench:" + hashlib.sha256(KEY.encode()).hexdigest(),
            "APP_RPM_PER_KEY": "0",
            "APP_RPM_PER_IP": "0",
            "APP_TPM_PER_KEY": "0",
            "APP_TPM_PER_IP": "0",
        }
        app = start([sys.executable, "-m", "app"], app_env, work / "app.log")
        procs.append(app)
        wait_http(f"http://127.0.0.1:{app_port}/health", 30, app)

        targets = [
            Target("direct", up_port, "/v1/chat/completions", {}, None),
            Target(
                "app",
                app_port,
                "/v1/chat/completions",
                {"authorization": f"Bearer {KEY}"},
                app.pid,
            ),
        ]
        if not args.skip_litellm:
            venv = litellm_python()
            ll_port = free_port()
            config = {
                "model_list": [
                    {
                        "model_name": "bench",
                        "litellm_params": {
                            "model": "openai/bench",
                            "api_base": f"http://127.0.0.1:{up_port}/v1",
                            "api_key": "sk-fake",
                        },
                    }
                ],
                "litellm_settings": {"telemetry": False},
            }
            (work / "litellm.yaml").write_text(json.dumps(config))
            ll_env = {
                **env,
                "LITELLM_MASTER_KEY": LITELLM_KEY,
                "LITELLM_TELEMETRY": "False",
                "LITELLM_LOG": "ERROR",
                "PATH": f"{venv}/bin:{env['PATH']}",
            }
            litellm = start(
                [
                    str(venv / "bin" / "litellm"),
                    "--config",
                    str(work / "litellm.yaml"),
                    "--port",
                    str(ll_port),
                    "--host",
                    "127.0.0.1",
                    "--num_workers",
                    "1",
                ],
                ll_env,
                work / "litellm.log",
            )
            procs.append(litellm)
            wait_http(f"http://127.0.0.1:{ll_port}/health/liveliness", 180, litellm)
            targets.append(
                Target(
                    "litellm",
                    ll_port,
                    "/v1/chat/completions",
                    {"authorization": f"Bearer {LITELLM_KEY}"},
                    litellm.pid,
                )
            )

        results = {}
        for target in targets:
            print(f"measuring {target.name}...", flush=True)
            results[target.name] = measure(target, args.requests, args.concurrency)
        direct = results["direct"]
        for name, r in results.items():
            if name != "direct":
                r["added_p50_ms"] = r["p50_ms"] - direct["p50_ms"]
                r["added_p99_ms"] = r["p99_ms"] - direct["p99_ms"]
                r["ttft_overhead_ms"] = r["ttft_p50_ms"] - direct["ttft_p50_ms"]
        report(results, args)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    print(f"\n{args.requests} sequential requests per target, throughput with concurrency {args.concurrency}")
    header = (
        f"{'target':<8} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} {'added p99':>10} "
        f"{'TTFT p50':>9} {'TTFT +':>8} {'req/s c32':>10} {'RSS MB':>8}"
    )
    print(header)
    for name, r in results.items():
        print(
            f"{name:<8} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {r.get('added_p50_ms', 0):10.3f} "
            f"{r.get('added_p99_ms', 0):10.3f} {r['ttft_p50_ms']:9.3f} {r.get('ttft_overhead_ms', 0):8.3f} "
            f"{r['rps_c32']:10.0f} {r.get('rss_mb', 0):8.1f}"
        )
    app = results["app"]
    print(f"\napp: added p50 {app['added_p50_ms']:.3f} ms (target <= 1 ms), RSS {app['rss_mb']:.1f} MB (target <= 150)")
    if "litellm" in results:
        ratio = results["litellm"]["added_p50_ms"] / max(app["added_p50_ms"], 1e-6)
        print(f"LiteLLM adds {ratio:.1f}x the app's p50 latency (target >= 5x)")


if __name__ == "__main__":
    main()
