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
import gc
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
        # the plan alone: the policy check has its own benchmark (benchmarks/policy_bench.py)
        plan = [*command, "plan", stack, "--no-policy"]
        subprocess.run(plan, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=os.environ)
        times.append(time.perf_counter() - started)
    return times


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if len(value) >= 8 else set()
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def raw_program(graph: Graph) -> Any:
    """The same resources written directly against the SDK, with no component library: same
    types, names, parents and inputs, and the same dataflow. An input that carries another
    resource's id, ARN or endpoint is passed as an Output of that resource (as a hand-written
    program passes ``vpc.id``), so it waits for it exactly as the real program does."""

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        custom: dict[str, pulumi.CustomResource] = {}
        produced: dict[str, set[str]] = {}
        for resource in graph.resources:
            if resource.type == STACK_TYPE:
                continue
            parent = created.get(resource.parent or "")
            opts = pulumi.ResourceOptions(parent=parent)
            if not resource.custom:
                created[resource.urn] = pulumi.ComponentResource(resource.type, resource.name, None, opts)
                continue
            props: dict[str, Any] = {}
            for key, value in resource.inputs.items():
                carried = _strings(value)
                sources = [custom[urn] for urn in resource.dependencies if urn in custom and produced[urn] & carried]
                props[key] = (
                    pulumi.Output.all(*[source.id for source in sources]).apply(lambda _, v=value: v)
                    if sources
                    else value
                )
            created[resource.urn] = custom[resource.urn] = pulumi.CustomResource(
                resource.type, resource.name, props, opts
            )
            produced[resource.urn] = _strings(resource.outputs) | {resource.id}

    return program


def time_in_process(stack: str, runs: int) -> tuple[list[float], list[float], int]:
    """Median-able timings of the program and its raw twin, each on an equal footing: both
    warmed up, the import-time heap frozen (so neither pays for collecting the provider SDKs'
    objects), and a collection before every timed run."""
    stack_file = load_stack(ROOT, stack)
    graph = plan_stack(stack_file)
    replay = raw_program(graph)
    plan(replay, project=stack_file.project, stack=stack_file.stack)
    gc.collect()
    gc.freeze()
    program_times, raw_times = [], []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        plan_stack(stack_file)
        program_times.append(time.perf_counter() - started)
        gc.collect()
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
    # Diagnostic: the SDK records a source stack trace for every resource, and its cost grows
    # with call depth (components nest deeper than a flat program). Measured once without it.
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime.proto import source_pb2

    capture = sdk_resource._get_stack_trace
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        program_bare, raw_bare, _ = time_in_process(args.stack, args.runs)
    finally:
        sdk_resource._get_stack_trace = capture
    median = statistics.median
    print(f"stack {args.stack}: {count} resources, {args.runs} runs each, {os.cpu_count()} cores")
    print(f"ai-platform plan (end to end, fresh process): median {median(cli):.2f} s  (min {min(cli):.2f} s)")
    print(f"program alone (mock runtime, warm):           median {median(program):.3f} s")
    print(f"raw SDK program, same resources:               median {median(raw):.3f} s")
    print(f"ratio program / raw:                           {median(program) / median(raw):.2f}")
    print(
        f"  diagnostic, without the SDK's per-resource stack capture: program {median(program_bare):.3f} s, "
        f"raw {median(raw_bare):.3f} s, ratio {median(program_bare) / median(raw_bare):.2f}"
    )


if __name__ == "__main__":
    main()
