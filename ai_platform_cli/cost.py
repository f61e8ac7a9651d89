"""``ai-platform cost STACK`` (and ``plan STACK --cost``): the monthly estimate of the planned graph;
``ai-platform cost --diff BASE.json HEAD.json``: what a change adds or removes per block.

The estimate itself is :mod:`components.cost`; this module finds the usage file, prints and
writes the results, and turns the estimate into the config of the policy ``budget-covers-baseline``
(the pack prices nothing itself: it is handed the fixed baseline and the budget).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from components.testing import Graph

RULE = "budget-covers-baseline"


class CostUsageError(Exception):
    """Bad input to the cost commands: a usage file, a region, an estimate JSON."""


def usage_path(project_dir: Path, stack: str, given: str | None) -> Path | None:
    """The usage file: ``--usage FILE``, else ``<stackConfigDir>/usage/<stack>.yaml`` if there is one."""
    if given:
        return Path(given)
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    default = project_dir / project.get("stackConfigDir", ".") / "usage" / f"{stack}.yaml"
    return default if default.is_file() else None


def estimate_graph(graph: Graph, config: dict[str, Any], secret_keys: list[str], usage_file: Path | None) -> Any:
    """The estimate of a planned graph (``components.cost.Estimate``); bad input -> CostUsageError."""
    from components.cost import estimate
    from components.cost.prices import PriceTableError
    from components.cost.usage import Usage, UsageError, load
    from components.spec import PlatformSpec

    spec = PlatformSpec.from_config(config, secret_keys)
    try:
        usage = load(usage_file) if usage_file is not None else Usage()
        return estimate(graph, spec, usage)
    except (UsageError, PriceTableError) as error:
        raise CostUsageError(str(error)) from None


def policy_config(estimate: Any) -> dict[str, Any]:
    """The config of ``budget-covers-baseline`` for this estimate (``--policy-pack-config`` form)."""
    return {
        RULE: {
            "enforcementLevel": estimate.baseline_check,
            "fixedMonthlyBaseline": round(estimate.fixed, 2),
            "monthlyBudget": estimate.budget,
            "currency": estimate.currency,
        }
    }


def merge_policy_config(raw: dict[str, Any] | None, estimate: Any) -> dict[str, Any]:
    """A user's policy config with the estimate's figures added; the user's own settings of the
    rule (a level, say) win."""
    merged = dict(raw or {})
    ours = policy_config(estimate)[RULE]
    theirs = merged.get(RULE)
    if isinstance(theirs, str):
        merged[RULE] = {**ours, "enforcementLevel": theirs}
    elif isinstance(theirs, dict):
        merged[RULE] = {**ours, **theirs}
    else:
        merged[RULE] = ours
    return merged


def print_estimate(estimate: Any) -> None:
    from components.cost.report import render

    print(render(estimate))


def cost_command(args: argparse.Namespace) -> int:
    if args.diff:
        return _diff(args)
    if not args.stack:
        raise CostUsageError("give a STACK to estimate, or --diff BASE.json HEAD.json")
    from ai_platform_cli.main import find_project_dir, load_stack, plan_stack

    project_dir = Path(args.project_dir).resolve() if args.project_dir else find_project_dir(Path.cwd())
    stack_file = load_stack(project_dir, args.stack, Path(args.env) if args.env else None)
    graph = plan_stack(stack_file)
    usage_file = usage_path(project_dir, args.stack, args.usage)
    estimate = estimate_graph(graph, stack_file.config, stack_file.secret_keys, usage_file)
    print_estimate(estimate)
    if args.json:
        Path(args.json).write_text(json.dumps(estimate.to_json(), indent=2) + "\n")
        print(f"estimate written to {args.json}")
    if args.write_policy_config:
        path = Path(args.write_policy_config)
        existing = _read_json(path, "--write-policy-config") if path.is_file() else None
        path.write_text(json.dumps(merge_policy_config(existing, estimate), indent=2) + "\n")
        print(f"policy config for {RULE} written to {path} (pulumi preview --policy-pack-config {path})")
    return 0


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CostUsageError(f"{what} {path}: not a readable JSON file ({error})") from None
    if not isinstance(document, dict):
        raise CostUsageError(f"{what} {path}: must be a JSON object, not {type(document).__name__}")
    return document


def _read_estimate(path: Path) -> dict[str, Any]:
    """An estimate's JSON: from ``ai-platform cost --json``, or the ``cost`` of ``plan --cost --json``."""
    document = _read_json(path, "--diff")
    if isinstance(document.get("cost"), dict):
        document = document["cost"]
    missing = [key for key in ("stack", "total", "fixed", "blocks") if key not in document]
    blocks = document.get("blocks")
    if not missing and not (
        isinstance(blocks, list) and all(isinstance(b, dict) and {"name", "monthly"} <= set(b) for b in blocks)
    ):
        raise CostUsageError(f"--diff {path}: blocks = {blocks!r:.80}: must be a list of {{name, monthly, resources}}")
    if missing:
        raise CostUsageError(
            f"--diff {path}: not an estimate from `ai-platform cost STACK --json FILE` or `plan STACK --cost --json "
            f"FILE` (missing {', '.join(missing)})"
        )
    return document


def _diff(args: argparse.Namespace) -> int:
    from components.cost.report import diff

    base, head = (_read_estimate(Path(p)) for p in args.diff)
    text, document = diff(base, head)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    return 0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "cost", help="the monthly cost estimate of a stack's planned graph, or the diff of two estimates"
    )
    parser.add_argument("stack", nargs="?", help="stack name: stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--diff", nargs=2, metavar=("BASE", "HEAD"), help="compare two estimates' JSON files")
    parser.add_argument("--json", metavar="FILE", help="write the estimate (or the diff) as JSON")
    usage_argument(parser)
    parser.add_argument(
        "--write-policy-config",
        metavar="FILE",
        help=f"write (or add to) a policy config with the {RULE} figures, for pulumi preview --policy-pack-config",
    )
    parser.add_argument("--env", metavar="FILE", help="resolved Pulumi ESC values (pulumi env open ENV --format json)")
    parser.add_argument("--project-dir", metavar="DIR", help="the directory holding Pulumi.yaml (default: search up)")
    parser.set_defaults(handler=cost_command)


def usage_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--usage", metavar="FILE", help="usage assumptions (default: stacks/usage/<stack>.yaml if present)"
    )
