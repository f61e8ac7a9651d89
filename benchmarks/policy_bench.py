"""Benchmark the policy pack through the Analyzer protocol (a script that prints figures; not a test).

Builds synthetic stacks of 1,000, 5,000 and 20,000 resources from every target's resource
types -- the baselines of the policy fixtures (``tests/policies/fixtures/<target>/``) and the
shipped stacks' planned graphs -- repeated with unique names and URNs (parents and dependencies
kept within each copy), then prints:

  1. the pack's start-up time (process start to a connected channel, as the engine waits for it);
  2. Analyze over every resource (pipelined, as ``policies.analyzer`` sends them): time and
     resources per second;
  3. AnalyzeStack over the whole stack: time and resources per second;
  4. the total for each size, against the target of 20,000 resources in under 20 s.

Usage: .venv/bin/python benchmarks/policy_bench.py [--sizes 1000,5000,20000] [--window N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies.analyzer import AnalyzedResource, PackClient  # noqa: E402
from policies.config import resolve_config  # noqa: E402
from policies.inputs import StackResource, parse_graph  # noqa: E402

TARGET_RESOURCES = 20_000
TARGET_SECONDS = 20.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux): on a shared machine, wall time alone misleads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fixture_resources() -> list[StackResource]:
    """Every fixture's baseline (resource fixtures) and resources (stack fixtures)."""
    from tests.policies.fixtures import load_all

    resources: list[StackResource] = []
    singles, stacks = load_all()
    for fixture in singles:
        r = fixture.resource()
        resources.append(StackResource(urn=r.urn, type=r.type, inputs=dict(r.props)))
    for stack in stacks:
        for r in stack.planned():
            resources.append(
                StackResource(
                    urn=r.urn,
                    type=r.type,
                    inputs=dict(r.props),
                    parent=r.parent,
                    dependencies=list(r.dependencies),
                    property_dependencies={k: list(v) for k, v in r.property_dependencies.items()},
                )
            )
    return resources


def shipped_stack_resources() -> list[StackResource]:
    from ai_platform_cli.main import load_stack, plan_stack

    resources: list[StackResource] = []
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        graph = plan_stack(load_stack(ROOT, path.name[len("Pulumi.") : -len(".yaml")]))
        resources += parse_graph(graph.to_json()).resources
    return resources


def _renamed(urn: str, copy: int) -> str:
    return f"{urn}-{copy}" if urn else urn


def synthetic_stack(templates: list[StackResource], size: int) -> list[StackResource]:
    """``size`` resources: the templates again and again, each copy with its own URNs."""
    result: list[StackResource] = []
    copy = 0
    while len(result) < size:
        for t in templates:
            if len(result) == size:
                break
            result.append(
                StackResource(
                    urn=_renamed(t.urn, copy),
                    type=t.type,
                    inputs=t.inputs,
                    outputs=t.outputs,
                    custom=t.custom,
                    parent=_renamed(t.parent, copy) if t.parent else None,
                    dependencies=[_renamed(d, copy) for d in t.dependencies],
                    property_dependencies={
                        k: [_renamed(d, copy) for d in v] for k, v in t.property_dependencies.items()
                    },
                )
            )
        copy += 1
    return result


def analyzed(resources: list[StackResource], stack: bool) -> list[AnalyzedResource]:
    from policies.inputs import StackGraph

    graph = StackGraph("synthetic", resources)
    return graph.for_analyze_stack() if stack else graph.for_analyze()


def run(sizes: list[int], window: int) -> None:
    templates = fixture_resources() + shipped_stack_resources()
    targets = sorted({t.type.split(":", 1)[0] for t in templates})
    print(f"templates: {len(templates)} resources, {len({t.type for t in templates})} types ({', '.join(targets)})")

    started = time.perf_counter()
    with PackClient(window=window) as client:
        startup = time.perf_counter() - started
        client.configure(resolve_config(None, client.get_info()))
        configured = time.perf_counter() - started
        print(
            f"pack start-up: {startup:.2f} s to a connected channel; "
            f"{configured:.2f} s with GetAnalyzerInfo + Configure"
        )
        print()
        print("wall seconds (and CPU seconds of the pack | of this client):")
        print(f"{'resources':>9}  {'Analyze':>22}  {'res/s':>6}  {'AnalyzeStack':>22}  {'res/s':>6}  {'total':>6}")
        pid = client.process.pid
        for size in sizes:
            stack = synthetic_stack(templates, size)
            per_resource, whole = analyzed(stack, stack=False), analyzed(stack, stack=True)
            c0, p0, t0 = time.process_time(), cpu_seconds(pid), time.perf_counter()
            client.analyze_all(per_resource)
            c1, p1, t1 = time.process_time(), cpu_seconds(pid), time.perf_counter()
            client.analyze_stack(whole)
            c2, p2, t2 = time.process_time(), cpu_seconds(pid), time.perf_counter()
            total = t2 - t0 + startup
            analyze = f"{t1 - t0:.2f} ({p1 - p0:.1f} | {c1 - c0:.1f})"
            stacked = f"{t2 - t1:.2f} ({p2 - p1:.1f} | {c2 - c1:.1f})"
            print(
                f"{size:>9,}  {analyze:>22}  {len(per_resource) / (t1 - t0):>6.0f}  "
                f"{stacked:>22}  {size / (t2 - t1):>6.0f}  {total:>6.2f}"
            )
            if size == TARGET_RESOURCES:
                verdict = "met" if total < TARGET_SECONDS else "NOT met"
                print(
                    f"target: {TARGET_RESOURCES:,} resources in under {TARGET_SECONDS:.0f} s "
                    f"(start-up + Analyze + AnalyzeStack): {total:.1f} s, {verdict}"
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000", help="comma-separated stack sizes")
    parser.add_argument("--window", type=int, default=64, help="Analyze calls in flight")
    args = parser.parse_args(argv)
    run([int(s) for s in args.sizes.split(",")], args.window)


if __name__ == "__main__":
    main()
