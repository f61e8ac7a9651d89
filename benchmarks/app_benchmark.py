"""Benchmark the app as deployed and bare, against direct upstream calls and LiteLLM's proxy, in one run.

Runs, in one go, in front of one fake upstream (tests/app/fake_upstream.py):
- "deployed": the app as the stacks run it: `python -m app`, one worker, API-key auth, Redis-backed
  limits on (per key and per IP, requests and tokens; set high enough that none refuses, so every
  request is checked and reserved in Redis, then settled), the Redis response cache, info logs;
- "no-limits": the same with every limit off (what the limits cost is the difference);
- "bare": limits off, no Redis, warning logs (what this benchmark measured before issue #11);
- with --baseline REF, the same three configurations of the app at git revision REF, side by side;
- LiteLLM's proxy, the version installed beside the app, in a throwaway venv (created on first use at
  $LITELLM_VENV, default ~/.cache/ai-platform/litellm-venv, so its many proxy dependencies never
  enter the app's requirements).
The targets are measured in interleaved rounds (each round visits every target), so a busy moment of
the shared machine hits all of them alike. It prints added latency p50/p99 over direct calls
(sequential, concurrency 1), throughput at --concurrency (default 16), streaming time-to-first-token
overhead, and resident memory.

Usage: python benchmarks/app_benchmark.py [--requests 2000] [--rounds 5] [--baseline REF] [--skip-litellm]
Targets (issue #11): deployed added p50 <= 1 ms; throughput with limits >= 90 % of no-limits; >= 5x less
added latency than LiteLLM; RSS <= 150 MB.
"""

import argparse
import asyncio
import hashlib
import http.client
import importlib.metadata
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
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


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used (from /proc; contention does not inflate it)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    name: str
    port: int
    path: str
    headers: dict[str, str]
    pid: int | None  # whose resident memory is reported
    cpu_pids: list[int]  # whose CPU time a request costs: the server, the upstream, Redis when used

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


def measure(targets: list[Target], n: int, rounds: int, concurrency: int) -> dict[str, dict[str, float]]:
    """Interleaved rounds: every target gets n/rounds sequential calls, streams and a throughput run per round."""
    per_round = max(1, n // rounds)
    latency: dict[str, list[float]] = {t.name: [] for t in targets}
    ttft: dict[str, list[float]] = {t.name: [] for t in targets}
    cpu: dict[str, list[float]] = {t.name: [] for t in targets}
    rps: dict[str, list[float]] = {t.name: [] for t in targets}
    for target in targets:  # warm-up: connections, caches, the app's first-call paths
        target.sequential(50, stream=False)
        target.sequential(10, stream=True)
    for index in range(rounds):
        print(f"round {index + 1}/{rounds}...", flush=True)
        for target in targets:
            used = cpu_seconds(target.cpu_pids)
            latency[target.name] += target.sequential(per_round, stream=False)
            cpu[target.name].append((cpu_seconds(target.cpu_pids) - used) / per_round)
            ttft[target.name] += target.sequential(max(20, per_round // 4), stream=True)
            rps[target.name].append(asyncio.run(target.throughput(per_round * 2, concurrency)))
    results = {}
    for target in targets:
        result = {
            "p50_ms": pct(latency[target.name], 0.50) * 1000,
            "p99_ms": pct(latency[target.name], 0.99) * 1000,
            "mean_ms": statistics.fmean(latency[target.name]) * 1000,
            "ttft_p50_ms": pct(ttft[target.name], 0.50) * 1000,
            "cpu_us": statistics.fmean(cpu[target.name]) * 1e6,
            "rps": statistics.median(rps[target.name]),
            "rps_min": min(rps[target.name]),
            "rps_max": max(rps[target.name]),
        }
        if target.pid is not None:
            result["rss_mb"] = rss_mb(target.pid)
        results[target.name] = result
    return results


def litellm_python() -> Path:
    venv = Path(os.environ.get("LITELLM_VENV", Path.home() / ".cache" / "ai-platform" / "litellm-venv"))
    python = venv / "bin" / "python"
    if not (venv / "bin" / "litellm").exists():
        print(f"creating the LiteLLM venv at {venv} (one time)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        try:  # the version installed beside the app, so the comparison is with what the project uses
            spec = f"litellm[proxy]=={importlib.metadata.version('litellm')}"
        except importlib.metadata.PackageNotFoundError:
            spec = "litellm[proxy]"
        subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
    return venv


def start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path = REPO) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


LIMITS_OFF = {f"APP_{name}": "0" for name in ("RPM_PER_KEY", "RPM_PER_IP", "TPM_PER_KEY", "TPM_PER_IP")}
# name -> (environment, uses Redis)
CONFIGS: dict[str, tuple[dict[str, str], bool]] = {
    # as the stacks run it: Redis limits on, high enough that none refuses (every request is still
    # checked, reserved and settled in Redis), the Redis response cache, info logs
    "deployed": (
        {
            "APP_LOG_LEVEL": "info",
            "APP_RPM_PER_KEY": "1000000000",
            "APP_RPM_PER_IP": "1000000000",
            "APP_TPM_PER_KEY": "1000000000000",
            "APP_TPM_PER_IP": "1000000000000",
        },
        True,
    ),
    # the same with the limits off: what the limits cost is the difference
    "no-limits": ({"APP_LOG_LEVEL": "info", **LIMITS_OFF}, True),
    # no Redis, limits off, warning logs (the configuration this benchmark measured before issue #11)
    "bare": ({"APP_LOG_LEVEL": "warning", **LIMITS_OFF}, False),
}


def export_revision(ref: str, into: Path) -> Path:
    """The app package as it was at git revision `ref` (to run it beside the working tree's)."""
    archive = subprocess.run(["git", "archive", ref, "app"], cwd=REPO, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def redis_server(port: int, log: Path) -> subprocess.Popen:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        sys.exit("redis-server is needed for the deployed configuration (apt-get install -y redis-server)")
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return start(cmd, {}, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests per target")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds the requests are split into")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--baseline", help="also run the app at this git revision (e.g. HEAD~3, main)")
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="app-bench-"))
    procs: list[subprocess.Popen] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    try:
        up_port = free_port()
        upstream = start([sys.executable, str(FAKE), "--port", str(up_port)], env, work / "upstream.log")
        procs.append(upstream)
        redis_port = free_port()
        redis = redis_server(redis_port, work / "redis.log")
        procs.append(redis)
        wait_http(f"http://127.0.0.1:{up_port}/v1/models", 20, upstream)

        routing = {
            "providers": {"up": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{up_port}/v1"}},
            "models": {"bench": [{"provider": "up", "model": "bench"}]},
            # conversation memory (on wherever Redis is) summarises with the default model
            "default_model": "bench",
        }
        (work / "routing.yaml").write_text(json.dumps(routing))
        auth = {"authorization": f"Bearer {KEY}"}
        targets = [Target("direct", up_port, "/v1/chat/completions", {}, None, [upstream.pid])]
        sources = [("app", REPO)]
        if args.baseline:
            sources.append((f"app@{args.baseline}", export_revision(args.baseline, work / "baseline")))
        for label, source in sources:
            for config, (overrides, uses_redis) in CONFIGS.items():
                port = free_port()
                app_env = {
                    **env,
                    "PYTHONPATH": str(source),
                    "APP_PORT": str(port),
                    "APP_HOST": "127.0.0.1",
                    "APP_ROUTING_FILE": str(work / "routing.yaml"),
                    "APP_API_KEYS_SHA256": "bench:" + hashlib.sha256(KEY.encode()).hexdigest(),
                    **overrides,
                }
                if uses_redis:
                    app_env["APP_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
                name = f"{label} {config}"
                proc = start([sys.executable, "-m", "app"], app_env, work / f"{name.replace(' ', '-')}.log", source)
                procs.append(proc)
                wait_http(f"http://127.0.0.1:{port}/health", 30, proc)
                cpu_pids = [proc.pid, upstream.pid] + ([redis.pid] if uses_redis else [])
                targets.append(Target(name, port, "/v1/chat/completions", auth, proc.pid, cpu_pids))
        if not args.skip_litellm:
            targets.append(start_litellm(work, env, up_port, upstream.pid, procs))

        results = measure(targets, args.requests, args.rounds, args.concurrency)
        direct = results["direct"]
        for name, r in results.items():
            if name != "direct":
                r["added_p50_ms"] = r["p50_ms"] - direct["p50_ms"]
                r["added_p99_ms"] = r["p99_ms"] - direct["p99_ms"]
                r["ttft_overhead_ms"] = r["ttft_p50_ms"] - direct["ttft_p50_ms"]
                r["added_cpu_us"] = r["cpu_us"] - direct["cpu_us"]
        report(results, args, [label for label, _ in sources])
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


def start_litellm(work: Path, env: dict[str, str], up_port: int, up_pid: int, procs: list[subprocess.Popen]) -> Target:
    venv = litellm_python()
    port = free_port()
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
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PATH": f"{venv}/bin:{env['PATH']}",
    }
    cmd = [str(venv / "bin" / "litellm"), "--config", str(work / "litellm.yaml"), "--port", str(port)]
    litellm = start([*cmd, "--host", "127.0.0.1", "--num_workers", "1"], ll_env, work / "litellm.log")
    procs.append(litellm)
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", 180, litellm)
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    auth = {"authorization": f"Bearer {LITELLM_KEY}"}
    return Target(f"litellm {version}", port, "/v1/chat/completions", auth, litellm.pid, [litellm.pid, up_pid])


def report(results: dict[str, dict[str, float]], args: argparse.Namespace, labels: list[str]) -> None:
    print(
        f"\n{args.requests} sequential requests per target in {args.rounds} interleaved rounds; "
        f"throughput at concurrency {args.concurrency} (median of the rounds, min-max)"
    )
    width = max(len(name) for name in results)
    print(
        f"{'target':<{width}} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} {'added p99':>10} "
        f"{'TTFT p50':>9} {'TTFT +':>8} {'CPU +us':>8} {'req/s':>7} {'(min-max)':>12} {'RSS MB':>7}"
    )
    for name, r in results.items():
        spread = f"{r['rps_min']:.0f}-{r['rps_max']:.0f}"
        print(
            f"{name:<{width}} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {r.get('added_p50_ms', 0):10.3f} "
            f"{r.get('added_p99_ms', 0):10.3f} {r['ttft_p50_ms']:9.3f} {r.get('ttft_overhead_ms', 0):8.3f} "
            f"{r.get('added_cpu_us', 0):8.0f} {r['rps']:7.0f} {spread:>12} {r.get('rss_mb', 0):7.1f}"
        )
    print()
    for label in labels:
        deployed, free, bare = (results[f"{label} {config}"] for config in CONFIGS)
        print(
            f"{label}: deployed added p50 {deployed['added_p50_ms']:.3f} ms (target <= 1; no-limits "
            f"{free['added_p50_ms']:.3f}, bare {bare['added_p50_ms']:.3f}); with limits "
            f"{100 * deployed['rps'] / free['rps']:.0f} % of the throughput without (target >= 90 %), "
            f"{100 * deployed['rps'] / bare['rps']:.0f} % of bare; RSS {deployed['rss_mb']:.1f} MB (target <= 150)"
        )
    litellm = next((r for name, r in results.items() if name.startswith("litellm")), None)
    if litellm is not None:
        deployed = results["app deployed"]
        ratio = litellm["added_p50_ms"] / max(deployed["added_p50_ms"], 1e-6)
        print(f"LiteLLM adds {ratio:.1f}x the deployed app's p50 latency (target >= 5x)")


if __name__ == "__main__":
    main()
