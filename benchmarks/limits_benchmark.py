"""The Redis limiter alone: CPU per admission+settlement of the app process and of Redis, side by side
with the limiter of another git revision, in interleaved rounds against one real redis-server.

Usage: python benchmarks/limits_benchmark.py [--ops 4000] [--rounds 3] [--baseline REF]
Each round runs every variant at concurrency 1 and 16 (one key, one IP: four windows per admission,
the app's defaults), then settles with the real usage, as a request does. Figures are per operation:
the limiter's share of the app's per-request cost (app/README.md "Performance").
"""

import argparse
import asyncio
import importlib.util
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import uvloop  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from app.settings import Settings  # noqa: E402
from benchmarks.app_benchmark import cpu_seconds, free_port  # noqa: E402


def load_limits(ref: str | None) -> ModuleType:
    """app.limits of the working tree, or of git revision `ref` (loaded under its own module name)."""
    if ref is None:
        import app.limits

        return app.limits
    source = subprocess.run(["git", "show", f"{ref}:app/limits.py"], cwd=REPO, check=True, capture_output=True).stdout
    path = Path(tempfile.mkdtemp()) / "limits_at_ref.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location(f"limits_at_{ref}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def run(limits: ModuleType, port: int, redis_pid: int, ops: int, concurrency: int) -> tuple[float, float, float]:
    """(app µs, Redis µs, operations per second) for `ops` admissions and settlements."""
    redis = Redis(port=port)
    high = {"auth_required": False, "rpm_per_key": 10**9, "rpm_per_ip": 10**9}
    settings = Settings.model_validate({**high, "tpm_per_key": 10**12, "tpm_per_ip": 10**12})
    limiter = limits.Limiter(settings, limits.RedisStore(redis, 5.0))

    async def one() -> None:
        decision = await limiter.admit("bench-key", "203.0.113.7", 288)
        if not decision.allowed:
            raise RuntimeError("the benchmark's limits are set so that none refuses")
        await limiter.settle(decision, 60, 0.000042)

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    for _ in range(100):
        await one()
    before, redis_before, start = (
        resource.getrusage(resource.RUSAGE_SELF),
        cpu_seconds([redis_pid]),
        time.perf_counter(),
    )
    await asyncio.gather(*(worker(ops // concurrency) for _ in range(concurrency)))
    await limiter.aclose()
    elapsed = time.perf_counter() - start
    after, redis_after = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds([redis_pid])
    await redis.aclose()
    app_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return app_cpu / ops * 1e6, (redis_after - redis_before) / ops * 1e6, ops / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ops", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="a git revision whose app/limits.py runs beside this one")
    options = parser.parse_args()
    variants = {"this revision": load_limits(None)}
    if options.baseline:
        variants[f"@{options.baseline}"] = load_limits(options.baseline)
    port = free_port()
    redis_server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    try:
        time.sleep(0.5)
        for _ in range(options.rounds):
            for concurrency in (1, 16):
                for name, module in variants.items():
                    figures = uvloop.run(run(module, port, redis_server.pid, options.ops, concurrency))  # as in the app
                    results.setdefault((name, concurrency), []).append(figures)
    finally:
        redis_server.terminate()
        redis_server.wait()
    print(f"limiter per admission + settlement, median of {options.rounds} rounds of {options.ops} operations")
    print("| limiter | concurrency | app CPU µs | Redis CPU µs | operations/s |")
    print("| --- | --- | --- | --- | --- |")
    for (name, concurrency), rows in results.items():
        app_us, redis_us, rate = (statistics.median(column) for column in zip(*rows, strict=True))
        print(f"| {name} | {concurrency} | {app_us:.0f} | {redis_us:.0f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
