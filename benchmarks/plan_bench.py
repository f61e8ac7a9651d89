"""Benchmark the offline plan (a script that prints figures; not a test).

Prints:
  1. the wall time of `ai-platform plan STACK` end to end (a fresh process each run), with
     the policy check (as users run it), with ``--no-policy``, and with ``--cost`` (the monthly
     estimate, target: under 10 % on top), interleaved, with the ratio;
  2. the cost estimate alone on the planned graph (in-process, warm), beside the program alone;
  3. the time of the program alone (in-process, mock runtime, imports warm) against raw
     programs that register the same resources directly with the SDK, and the ratios: what
     the component library costs on top of the SDK. Two raw twins, both flat, with the same
     resources, names, parents, inputs and dataflow:
     - typed: the provider SDK's resource classes (``pulumi_aws.ec2.Vpc(...)``) with the
       recorded inputs as keyword arguments: what a hand-written program does, and the
       baseline of the 1.3 target;
     - untyped: bare ``pulumi.CustomResource(type, name, props)``, which skips the typed
       classes' own cost (an Output per declared output property); shown for reference.

Usage: .venv/bin/python benchmarks/plan_bench.py [STACK] [--runs N]
Targets on a 2-core machine: plan under 3 s, ratio at most 1.3, ``--cost`` adds under 10 %.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import inspect
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ai_platform_cli.main import load_stack, plan_stack  # noqa: E402
from components.testing import STACK_TYPE, Graph, plan  # noqa: E402


def time_cli(stack: str, runs: int) -> dict[str, list[float]]:
    """Fresh-process wall times of `ai-platform plan STACK` as users run it (the policy check
    included: the pack starts alongside the plan), with ``--no-policy`` and with ``--cost``,
    interleaved. Run as ``python -m`` from this tree, so the figures are this checkout's code
    whatever the venv's entry point was installed from."""
    command = [sys.executable, "-m", "ai_platform_cli.main"]
    options = {"with the policy check": [], "--no-policy": [], "with the policy check and --cost": ["--cost"]}
    variants: dict[str, list[float]] = {label: [] for label in options}
    for _ in range(runs):
        for label, extra in options.items():
            started = time.perf_counter()
            subprocess.run([*command, "plan", stack, *extra], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            variants[label].append(time.perf_counter() - started)
    return variants


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if len(value) >= 8 else set()
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def sdk_class(token: str) -> type[pulumi.CustomResource] | None:
    """The provider SDK class for a type token: ``aws:ec2/vpc:Vpc`` -> ``pulumi_aws.ec2.Vpc``,
    ``kubernetes:apps/v1:Deployment`` -> ``pulumi_kubernetes.apps.v1.Deployment``,
    ``pulumi:providers:kubernetes`` -> ``pulumi_kubernetes.Provider``; None for a Kubernetes kind the
    SDK has no class for (a CRD's: cert-manager, Gateway API, Prometheus Operator), which a
    hand-written program creates as ``apiextensions.CustomResource``."""
    package, module, name = token.split(":")
    if package == "pulumi" and module == "providers":
        return importlib.import_module("pulumi_" + name.replace("-", "_")).Provider
    sdk = importlib.import_module("pulumi_" + package.replace("-", "_"))
    if package == "kubernetes":
        group, _, version = module.rpartition("/")
        path = f"{sdk.__name__}.{group.split('.')[0] or 'core'}.{version}"
        try:
            return getattr(importlib.import_module(path), name)
        except (ImportError, AttributeError):
            return None
    head = module.split("/")[0]
    if head != "index":
        sdk = importlib.import_module(f"{sdk.__name__}.{head}")
    return getattr(sdk, name)


_SNAKE_PART = re.compile(r"_([a-z0-9])")


def _keyword_names(cls: type) -> dict[str, str]:
    """Wire (camelCase) input name -> the class's keyword argument."""
    parameters = inspect.signature(cls._internal_init).parameters  # type: ignore[attr-defined]
    skip = {"self", "__self__", "resource_name", "opts", "__props__"}
    return {_SNAKE_PART.sub(lambda m: m.group(1).upper(), p): p for p in parameters if p not in skip}


def _provider_value(value: Any) -> Any:
    """A provider's input as the program gave it: the engine's wire form JSON-encodes every
    non-string provider input (``"true"``), which the typed class encodes again itself."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return value if isinstance(decoded, str) else decoded
    return value


Call = tuple[Callable[..., pulumi.CustomResource], tuple[Any, ...], dict[str, Any]]
Prepare = Callable[[Any, dict[str, Any]], Call]
"""How a twin registers one custom resource: from (recorded resource, wired inputs), the constructor
and its arguments; the replay loop calls it itself, so both twins create resources at the same
call depth as each other (the SDK records a stack trace per resource)."""


def _replay(graph: Graph, prepare: Prepare) -> Any:
    """A flat program registering the graph's resources again: same types, names, parents and
    inputs, and the same dataflow. An input that carries another resource's id, ARN or endpoint
    is passed as an Output of that resource (as a hand-written program passes ``vpc.id``), so it
    waits for it exactly as the real program does."""

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        custom: dict[str, pulumi.CustomResource] = {}
        produced: dict[str, set[str]] = {}
        providers: dict[str, pulumi.ProviderResource] = {}
        for resource in graph.resources:
            if resource.type == STACK_TYPE:
                continue
            package = resource.type.split(":")[0]
            opts = pulumi.ResourceOptions(parent=created.get(resource.parent or ""), provider=providers.get(package))
            if not resource.custom:
                created[resource.urn] = pulumi.ComponentResource(resource.type, resource.name, resource.inputs, opts)
                continue
            inputs = {key: _wired(value, resource, custom, produced) for key, value in resource.inputs.items()}
            constructor, args, kwargs = prepare(resource, inputs)
            created[resource.urn] = custom[resource.urn] = made = constructor(*args, opts=opts, **kwargs)
            produced[resource.urn] = _strings(resource.outputs) | {resource.id}
            if isinstance(made, pulumi.ProviderResource):
                # an explicit provider (the Kubernetes target's cluster): the program passes it to
                # every resource of its package, so no default provider is registered
                providers[resource.type.rsplit(":", 1)[-1]] = made

    return program


def _wired(value: Any, resource: Any, custom: dict[str, Any], produced: dict[str, set[str]]) -> Any:
    """An input that carries another resource's id, ARN or endpoint waits for that resource."""
    carried = _strings(value)
    sources = [custom[urn] for urn in resource.dependencies if urn in custom and produced[urn] & carried]
    return pulumi.Output.all(*[s.id for s in sources]).apply(lambda _, v=value: v) if sources else value


def typed_program(graph: Graph) -> Any:
    """The resources written by hand against the provider SDK's classes, inputs as keyword arguments."""
    classes: dict[str, tuple[type, dict[str, str]]] = {}

    def prepare(resource: Any, inputs: dict[str, Any]) -> Call:
        if resource.type not in classes:
            cls = sdk_class(resource.type)
            if cls is None:
                from pulumi_kubernetes.apiextensions import CustomResource

                return CustomResource, (resource.name,), custom_resource_arguments(resource, inputs)
            classes[resource.type] = (cls, _keyword_names(cls))
        cls, names = classes[resource.type]
        if issubclass(cls, pulumi.ProviderResource):
            inputs = {key: _provider_value(value) for key, value in inputs.items()}
        return cls, (resource.name,), {names[key]: value for key, value in inputs.items()}

    return _replay(graph, prepare)


def custom_resource_arguments(resource: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """``CustomResource``'s arguments for a CRD object: apiVersion and kind as recorded (they make
    the type token, so they are never waited for), the rest (metadata, spec, ...) as wired."""
    rest = {key: value for key, value in inputs.items() if key not in ("apiVersion", "kind")}
    return {"api_version": resource.inputs["apiVersion"], "kind": resource.inputs["kind"], **rest}


def raw_program(graph: Graph) -> Any:
    """The resources registered as bare ``pulumi.CustomResource(type, name, props)``: no typed classes."""

    def prepare(resource: Any, inputs: dict[str, Any]) -> Call:
        package, module, name = resource.type.split(":")
        if package == "pulumi" and module == "providers":
            return pulumi.ProviderResource, (name, resource.name, inputs), {}
        return pulumi.CustomResource, (resource.type, resource.name, inputs), {}

    return _replay(graph, prepare)


def time_in_process(stack: str, runs: int) -> tuple[dict[str, list[float]], int]:
    """Timings of the program and its two raw twins, interleaved and on an equal footing: all
    warmed up, the import-time heap frozen (so none pays for collecting the provider SDKs'
    objects), and a collection before every timed run. Each is timed twice per round: with
    the collector on (as it runs for real) and off (pure CPU: where a collection happens to
    fire adds noise of +-20 % to a 0.3 s run)."""
    stack_file = load_stack(ROOT, stack)
    graph = plan_stack(stack_file)
    programs = {
        "program": lambda: plan_stack(stack_file),
        "typed": _planner(typed_program(graph), stack_file.project, stack_file.stack),
        "untyped": _planner(raw_program(graph), stack_file.project, stack_file.stack),
    }
    for run in programs.values():
        run()
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {f"{name}{mode}": [] for name in programs for mode in ("", "/nogc")}
    for _ in range(runs):
        for name, run in programs.items():
            for mode in ("", "/nogc"):
                gc.collect()
                if mode:
                    gc.disable()
                started = time.perf_counter()
                run()
                times[f"{name}{mode}"].append(time.perf_counter() - started)
                gc.enable()
    return times, len(graph.resources) - 1


def time_estimate(stack: str, runs: int) -> list[float]:
    """In-process times of the cost estimate of the stack's planned graph (warm: table read once)."""
    from components.cost import estimate
    from components.spec import PlatformSpec

    stack_file = load_stack(ROOT, stack)
    graph = plan_stack(stack_file)
    spec = PlatformSpec.from_config(stack_file.config, stack_file.secret_keys)
    estimate(graph, spec)
    times = []
    for _ in range(max(runs, 20)):
        started = time.perf_counter()
        estimate(graph, spec)
        times.append(time.perf_counter() - started)
    return times


def _planner(program: Any, project: str, stack: str) -> Any:
    return lambda: plan(program, project=project, stack=stack)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("stack", nargs="?", default="aws-prod")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-cli", action="store_true", help="only the in-process comparison")
    args = parser.parse_args()

    cli = {} if args.skip_cli else time_cli(args.stack, args.runs)
    times, count = time_in_process(args.stack, args.runs)
    estimate_times = time_estimate(args.stack, args.runs)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"stack {args.stack}: {count} resources, {args.runs} runs each, {os.cpu_count()} cores")
    for label, values in cli.items():
        print(
            f"ai-platform plan, {label} (fresh process): median {statistics.median(values):.2f} s  "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )
    if cli:
        plain, costed = (
            statistics.median(cli[k]) for k in ("with the policy check", "with the policy check and --cost")
        )
        print(f"  --cost adds (medians, side by side; target < 10 %): {100 * (costed / plain - 1):+.1f} %")
    estimate_median = statistics.median(estimate_times)
    print(
        f"cost estimate alone on the planned graph (warm): median {estimate_median * 1000:.1f} ms "
        f"= {100 * estimate_median / median['program']:.1f} % of the program alone"
    )
    for mode, label in (("", "collector on"), ("/nogc", "collector off")):
        program, typed, untyped = (median[f"{name}{mode}"] for name in ("program", "typed", "untyped"))
        print(f"{label}:")
        print(f"  program alone (mock runtime, warm):                median {program:.3f} s")
        print(f"  raw program, provider SDK classes (typed):         median {typed:.3f} s")
        print(f"  raw program, bare pulumi.CustomResource (untyped): median {untyped:.3f} s")
        print(f"  ratio program / typed raw (the target, <= 1.3):    {program / typed:.2f}")
        print(f"  ratio program / untyped raw (reference):           {program / untyped:.2f}")


if __name__ == "__main__":
    main()
