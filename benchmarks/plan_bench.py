"""Benchmark the offline plan (a script that prints figures; not a test).

Prints:
  1. the wall time of `ai-platform plan STACK` end to end (a fresh process each run);
  2. the time of the program alone (in-process, mock runtime, imports warm) against a raw
     program that registers the same resources directly with the SDK
     (``pulumi.CustomResource`` / ``ComponentResource`` with the recorded inputs), and the
     ratio between them: what the component library costs on top of the SDK.

Usage: .venv/bin/python benchmarks/plan_bench.py [STACK] [--runs N]
Targets on a 2-core machine: plan under 3 s, ratio at most 1.3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pulumi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.cli import load_stack, plan_stack  # noqa: E402
from components.testing import STACK_TYPE, Graph, plan  # noqa: E402


def time_cli(stack: str, runs: int) -> list[float]:
    executable = ROOT / ".venv" / "bin" / "ai-platform"
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "components.cli"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*command, "plan", stack], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=os.environ)
        times.append(time.perf_counter() - started)
    return times


def raw_program(graph: Graph) -> Any:
    """Register every recorded resource with the plain SDK: same types, names, parents, inputs
    and dependency edges (``depends_on``), in registration order, with no component library."""

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        for resource in graph.resources:
            if resource.type == STACK_TYPE:
                continue
            parent = created.get(resource.parent or "")
            depends_on = [created[urn] for urn in resource.dependencies if urn in created]
            opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
            if resource.custom:
                created[resource.urn] = pulumi.CustomResource(resource.type, resource.name, dict(resource.inputs), opts)
            else:
                created[resource.urn] = pulumi.ComponentResource(resource.type, resource.name, None, opts)

    return program


def time_in_process(stack: str, runs: int) -> tuple[list[float], list[float], int]:
    stack_file = load_stack(ROOT, stack)
    graph = plan_stack(stack_file)  # warm imports and caches once
    replay = raw_program(graph)
    program_times, raw_times = [], []
    for _ in range(runs):
        started = time.perf_counter()
        plan_stack(stack_file)
        program_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        plan(replay, project=stack_file.project, stack=stack_file.stack)
        raw_times.append(time.perf_counter() - started)
    return program_times, raw_times, len(graph.resources) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("stack", nargs="?", default="aws-prod")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    cli = time_cli(args.stack, args.runs)
    program, raw, count = time_in_process(args.stack, args.runs)
    median = statistics.median
    print(f"stack {args.stack}: {count} resources, {args.runs} runs each, {os.cpu_count()} cores")
    print(f"ai-platform plan (end to end, fresh process): median {median(cli):.2f} s  (min {min(cli):.2f} s)")
    print(f"program alone (mock runtime, warm):           median {median(program):.3f} s")
    print(f"raw SDK program, same resources:               median {median(raw):.3f} s")
    print(f"ratio program / raw:                           {median(program) / median(raw):.2f}")


if __name__ == "__main__":
    main()
