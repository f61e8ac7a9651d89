"""``ai-platform``: offline tools that need no Pulumi CLI and no cloud credentials.

``ai-platform plan STACK`` runs the program for ``stacks/Pulumi.STACK.yaml`` under Pulumi's
mock runtime and prints the resource tree with counts per type, then runs the policy pack over
the planned graph through the Analyzer protocol (``--no-policy`` skips it); ``--json`` writes the
graph, ``--diagram`` draws the architecture, ``--manifests DIR`` writes a Kubernetes stack's
objects as YAML, ``--cost`` prints the monthly estimate (``ai-platform cost``: ai_platform_cli/cost.py)
and hands its fixed baseline to the budget rule. ``ai-platform policy check FILE`` runs the pack over a plan graph, a
``pulumi stack export`` or a ``pulumi preview --json`` file.
A stack file that imports Pulumi ESC environments (``environment:``) is planned with their
resolved values: ``--env FILE`` takes the output of ``pulumi env open ENV --format json``.
The deploy-readiness checks of the stack's target run over the planned graph too
(``--no-readiness`` skips them).
Exit codes: 0 planned / passed, 1 a mandatory policy violation or a readiness finding, 2 invalid config or usage,
3 the policy pack could not run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ai_platform_cli import cost
from components.spec import NAMESPACE, SpecError, required_secret_keys
from components.testing import STACK_TYPE, Graph, plan
from policies.errors import PackError, PolicyUsageError
from policies.process import StartedPack, start_pack

EXIT_VIOLATIONS = 1
EXIT_CONFIG = 2
EXIT_PACK = 3
PLACEHOLDER = "offline-placeholder-secret-value-0123456789"


@dataclass(frozen=True)
class StackFile:
    """A stack's config as the Pulumi CLI would hand it to the program."""

    project: str
    stack: str
    config: dict[str, Any]
    secret_keys: list[str]
    placeholders: list[str]
    environments: tuple[str, ...] = ()
    """The Pulumi ESC environments the stack file imports (its ``environment:`` key)."""
    env_file: str | None = None
    """The file their resolved values came from, if given."""


class UsageError(Exception):
    """A problem with the command line or the project files, not with the stack config."""


def find_project_dir(start: Path) -> Path:
    for directory in (start, *start.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise UsageError(f"no Pulumi.yaml in {start} or any parent directory; run from the project or pass --project-dir")


def _environments(path: Path, document: dict[str, Any]) -> tuple[str, ...]:
    raw = document.get("environment")
    if raw is None:
        return ()
    names = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if names is None or not all(isinstance(n, str) and n for n in names):
        raise UsageError(f"{path}: `environment` must be an ESC environment name or a list of them, not {raw!r}")
    return tuple(names)


def load_esc_values(path: Path, project: str) -> dict[str, Any]:
    """Stack config from ``pulumi env open ENV --format json``: its ``pulumiConfig`` values, keys
    without a namespace in the project's (as the Pulumi CLI reads them)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"--env {path}: not a JSON file from `pulumi env open ENV --format json` ({error})") from None
    config = document.get("pulumiConfig") if isinstance(document, dict) else None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise UsageError(f"--env {path}: `pulumiConfig` must be a mapping of config keys, not {type(config).__name__}")
    return {key if ":" in key else f"{project}:{key}": value for key, value in config.items()}


def load_stack(project_dir: Path, stack: str, env_file: Path | None = None) -> StackFile:
    """Read Pulumi.yaml and the stack file (with its ESC values from ``env_file``, if given);
    secure values and unset secrets become placeholders."""
    project_file = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    config_dir = project_dir / project_file.get("stackConfigDir", ".")
    path = config_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        available = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in config_dir.glob("Pulumi.*.yaml"))
        raise UsageError(f"no stack file {path}; stacks here: {', '.join(available) or 'none'}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"{path} is not valid YAML: {error}") from None
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: `config` must be a mapping of keys to values")
    environments = _environments(path, document)
    project = project_file.get("name", NAMESPACE)
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    placeholders: list[str] = []
    if env_file is not None:
        # ESC keeps values encrypted: the secrets the spec needs count as set with --secret
        esc = load_esc_values(env_file, project)
        config.update(esc)
        needed = {f"{NAMESPACE}:{key}" for key in required_secret_keys({**esc, **raw})}
        secret_keys.extend(key for key in esc if key in needed)
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = PLACEHOLDER
            secret_keys.append(key)
            placeholders.append(key)
        else:
            config[key] = value
    for key in required_secret_keys(config):
        full_key = f"{NAMESPACE}:{key}"
        if full_key not in config:
            config[full_key] = PLACEHOLDER
            secret_keys.append(full_key)
            placeholders.append(full_key)
    return StackFile(
        project, stack, config, secret_keys, placeholders, environments, None if env_file is None else str(env_file)
    )


def plan_stack(stack_file: StackFile) -> Graph:
    """Run the real program for the stack under the mock runtime and return its graph."""
    from components.program import run
    from components.spec import PlatformSpec

    try:
        spec = PlatformSpec.from_config(stack_file.config, stack_file.secret_keys)
    except SpecError as error:
        if stack_file.environments and stack_file.env_file is None:
            names = ", ".join(stack_file.environments)
            first = stack_file.environments[0]
            raise UsageError(
                f"stack {stack_file.stack} takes config from the Pulumi ESC environment {names}, which this "
                f"offline plan cannot open: run `pulumi env open {first} --format json > env.json` and plan "
                f"with --env env.json\n(without it: {error})"
            ) from None
        raise
    graph = plan(
        lambda: run(spec),
        project=stack_file.project,
        stack=stack_file.stack,
        config=stack_file.config,
        secret_keys=stack_file.secret_keys,
    )
    graph.cloud = spec.cloud
    return graph


def render_tree(graph: Graph) -> str:
    """The resource tree (components and their children), then counts per type."""
    children: dict[str | None, list[Any]] = {}
    for resource in graph.resources:
        children.setdefault(resource.parent, []).append(resource)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for resource in sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name)):
            marker = "" if resource.custom else "  [component]"
            lines.append(f"{'  ' * depth}{resource.type}  {resource.name}{marker}")
            walk(resource.urn, depth + 1)

    walk(None, 0)
    counts = graph.type_counts()
    lines += ["", f"{sum(counts.values())} resources, {len(counts)} types:"]
    width = max((len(t) for t in counts), default=0)
    lines += [f"  {count:4d}  {type_:<{width}}" for type_, count in sorted(counts.items())]
    return "\n".join(lines)


def _plan_command(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir).resolve() if args.project_dir else find_project_dir(Path.cwd())
    stack_file = load_stack(project_dir, args.stack, Path(args.env) if args.env else None)
    # The pack starts first and imports its rules on the other core while the program is planned.
    started = None if args.no_policy else start_pack()
    try:
        return _plan_and_check(args, stack_file, started)
    finally:
        if started is not None:
            started.stop()


def _plan_and_check(args: argparse.Namespace, stack_file: StackFile, started: StartedPack | None) -> int:
    graph = plan_stack(stack_file)
    print(render_tree(graph))
    if stack_file.placeholders:
        print(f"\noffline placeholders for secrets not set in the stack file: {', '.join(stack_file.placeholders)}")
    document = graph.to_json()
    estimate = None
    if args.cost:
        from ai_platform_cli import cost

        project_dir = Path(args.project_dir).resolve() if args.project_dir else find_project_dir(Path.cwd())
        usage_file = cost.usage_path(project_dir, stack_file.stack, args.usage)
        estimate = cost.estimate_graph(graph, stack_file.config, stack_file.secret_keys, usage_file)
        print()
        cost.print_estimate(estimate)
        document["cost"] = estimate.to_json()
    # The readiness checks run on a thread while the pack analyses the graph in its own process
    # (this thread then only waits on the pack), so they add little to a plan that runs both.
    readiness: concurrent.futures.Future[list[Any]] | None = None
    pool = None
    if not args.no_readiness:
        from components import targets

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        readiness = pool.submit(targets.get(str(graph.cloud)).readiness_findings, graph)
    policy: dict[str, Any] | None = None
    if not args.no_policy:
        from policies.inputs import parse_graph

        print()
        policy = _run_policy(parse_graph(document, f"the plan of {graph.stack}"), args.policy_config, started, estimate)
        document["policy"] = policy
    ready = True
    if readiness is not None:
        findings = readiness.result()
        document["readiness"] = [str(finding) for finding in findings]
        print(f"\ndeploy readiness: {len(findings)} finding(s)")
        for finding in findings:
            print(f"  {finding}")
        ready = not findings
    if pool is not None:
        pool.shutdown()
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
        print(f"graph written to {args.json}")
    if args.manifests:
        _write_manifests(graph, Path(args.manifests))
    if args.diagram:
        from components.diagram import write_diagram

        write_diagram(graph, Path(args.diagram))
        print(f"diagram written to {args.diagram}")
    outputs = {k: v for k, v in graph.outputs.items() if k in {"url", "endpoint"}}
    for name, value in outputs.items():
        print(f"{name}: {value}")
    resources = [r for r in graph.resources if r.type != STACK_TYPE]
    print(f"\nplanned {len(resources)} resources for stack {graph.stack} ({graph.cloud}) offline")
    code = _policy_exit(policy)
    return code if ready else EXIT_VIOLATIONS


def _write_manifests(graph: Graph, directory: Path) -> None:
    """The plan's objects as YAML, for targets that deploy manifests (their ``manifests`` module)."""
    from components import targets

    target = targets.get(str(graph.cloud))
    try:
        writer = target.module("manifests")
    except ModuleNotFoundError:
        raise UsageError(f"--manifests: {target.title} stacks deploy no manifests (only Kubernetes ones do)") from None
    written = writer.write(graph, directory)
    print(f"{len(written)} manifests written to {directory}")


def _run_policy(
    graph: Any, config_path: str | None, started: StartedPack | None = None, estimate: Any = None
) -> dict[str, Any]:
    """Run the pack over ``graph`` (a ``policies.inputs.StackGraph``), print the report; the JSON section.
    With a cost ``estimate``, the budget rule gets its fixed baseline and the budget."""
    # imported here: grpc and the policy SDK cost start-up time that --no-policy should not pay
    from policies.check import check_graph, render_report
    from policies.config import load_config_file

    raw_config = load_config_file(Path(config_path)) if config_path else None
    if estimate is not None:
        from ai_platform_cli.cost import merge_policy_config

        raw_config = merge_policy_config(raw_config, estimate)
    report, info = check_graph(graph, raw_config, started)
    print(render_report(report, info))
    return report.to_json()


def _policy_exit(policy: dict[str, Any] | None) -> int:
    if policy and any(v["level"] == "mandatory" for v in policy["violations"]):
        return EXIT_VIOLATIONS
    return 0


def _policy_check_command(args: argparse.Namespace) -> int:
    from policies.inputs import load_graph

    graph = load_graph(Path(args.file))
    print(f"{args.file}: {graph.format} file, {len(graph.resources)} resources")
    policy = _run_policy(graph, args.policy_config)
    if args.json:
        document = {"source": args.file, "format": graph.format, "policy": policy}
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
        print(f"report written to {args.json}")
    return _policy_exit(policy)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ai-platform", description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan_parser = commands.add_parser("plan", help="run a stack's program offline and show its resource graph")
    plan_parser.add_argument("stack", help="stack name: stacks/Pulumi.<stack>.yaml")
    plan_parser.add_argument("--json", metavar="FILE", help="write the graph as JSON")
    plan_parser.add_argument(
        "--env",
        metavar="FILE",
        help="resolved Pulumi ESC values for a stack file with `environment:` (pulumi env open ENV --format json)",
    )
    plan_parser.add_argument(
        "--manifests", metavar="DIR", help="write every planned Kubernetes object as YAML (Kubernetes stacks)"
    )
    plan_parser.add_argument("--diagram", metavar="FILE", help="draw the architecture (.svg or .png; needs Graphviz)")
    plan_parser.add_argument(
        "--project-dir", metavar="DIR", help="the directory holding Pulumi.yaml (default: search up)"
    )
    _policy_config_argument(plan_parser)
    plan_parser.add_argument("--no-policy", action="store_true", help="skip the policy check of the planned graph")
    plan_parser.add_argument(
        "--cost", action="store_true", help="print the monthly cost estimate and check the budget against it"
    )
    cost.usage_argument(plan_parser)
    plan_parser.add_argument(
        "--no-readiness",
        action="store_true",
        help="skip the deploy-readiness checks (creation order, key policies, IAM lint) of the planned graph",
    )
    plan_parser.set_defaults(handler=_plan_command)

    policy_parser = commands.add_parser("policy", help="the policy pack, offline")
    policy_commands = policy_parser.add_subparsers(dest="policy_command", required=True)
    check_parser = policy_commands.add_parser(
        "check",
        help="run the pack over a plan graph, `pulumi stack export` or `pulumi preview --json` file",
    )
    check_parser.add_argument("file", help="the JSON file to check")
    _policy_config_argument(check_parser)
    check_parser.add_argument("--json", metavar="FILE", help='write {"policy": {"pack", "violations"}} as JSON')
    check_parser.set_defaults(handler=_policy_check_command)
    cost.add_parser(commands)
    return parser


def _policy_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy-config",
        metavar="FILE",
        help='policy config JSON, as `pulumi preview --policy-pack-config` (policy or "all" -> level or settings)',
    )


#: Young-generation threshold while the CLI runs (CPython's default is 700). Importing the provider
#: SDK creates hundreds of thousands of long-lived objects; with the default, the collector runs
#: thousands of times over them and cost ~0.8 s of a 3 s plan, for nothing to free (peak RSS is
#: the same 187 MB either way: measured with /usr/bin/time on `plan aws-prod`).
GC_THRESHOLD = (100_000, 50, 1000)


def main(argv: Sequence[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLD)
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (SpecError, UsageError, cost.CostUsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except PolicyUsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except PackError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PACK
    finally:
        # The provider SDKs leave about a million objects behind; freezing them spares the
        # collector's passes over them at exit (0.9 s of a 3.2 s plan). Exit handlers and
        # flushing still run as usual.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
