"""Benchmark what importing the GCP target costs (a script that prints figures; not a test).

Each figure is the median wall time of a fresh interpreter running one import, measured side by
side in one run against the interpreter's bare start-up (subtracted):

  - ``import components.gcp``: the package (names load lazily, PEP 562): the target is <= 1 s;
  - ``import pulumi_gcp.compute``: the largest provider module, which only the network and
    gateway blocks import (about 2 s on a 2-core machine);
  - ``import components.gcp.platform``: every block, as a real ``pulumi up`` loads them.

Usage: .venv/bin/python benchmarks/gcp_import_bench.py [--runs N]

Measured 2026-12-06 (2 cores shared with other jobs, pulumi-gcp 10.2.0, --runs 5): bare start-up
0.073 s; import components.gcp 0.023 s; import pulumi_gcp.compute 1.109 s; import
components.gcp.platform (every block and its provider modules) 1.807 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATEMENTS = {
    "python -c pass (subtracted)": "pass",
    "import components.gcp": "import components.gcp",
    "import pulumi_gcp.compute": "import pulumi_gcp.compute",
    "import components.gcp.platform": "import components.gcp.platform",
}


def run_once(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    samples: dict[str, list[float]] = {label: [] for label in STATEMENTS}
    for _ in range(runs):  # interleaved, so a busy moment on the machine hits every figure alike
        for label, statement in STATEMENTS.items():
            samples[label].append(run_once(statement))
    base = statistics.median(samples["python -c pass (subtracted)"])
    print(f"median of {runs} fresh interpreters, bare start-up {base:.3f} s subtracted:")
    for label, values in samples.items():
        if label.startswith("python"):
            continue
        print(f"  {label:<34} {statistics.median(values) - base:6.3f} s")


if __name__ == "__main__":
    main()
