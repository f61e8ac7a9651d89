"""`python -m app.evals run --url URL` scores a deployment; `python -m app.evals compare A.json B.json` compares runs.

Exit status: 0 when every threshold holds (or no regression), 1 when one does not, 2 for bad input.
"""

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.evals.dataset import DatasetError, load_dataset
from app.evals.report import Thresholds, Tolerance, build_document, compare, render, render_comparison
from app.evals.runner import EvalError, Options, Runner, load_prices

DEFAULT_DATASET = Path(__file__).with_name("golden.jsonl")


def _number(low: float, high: float = math.inf, off: bool = False) -> Callable[[str], float | None]:
    """An argparse type: a number in [low, high], or `off` (None) when allowed."""

    def parse(text: str) -> float | None:
        if off and text == "off":
            return None
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number{' or off' if off else ''}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high}")
        return value

    return parse


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not the app's http(s) base URL (e.g. https://api.example.com)")
    return text


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m app.evals", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the golden dataset against an app URL and score it")
    run.add_argument("--url", type=_url, required=True, help="the app, e.g. https://api.dev.example.com")
    run.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="JSONL golden dataset")
    run.add_argument("--api-key-env", default="EVAL_API_KEY", help="environment variable holding the caller's API key")
    run.add_argument("--model", help="model alias for items that name none (default: the app's default)")
    run.add_argument("--judge-model", help="alias the app routes judge calls to (off when not given)")
    run.add_argument("--judge-weight", type=_number(0, 1), default=0.5, help="the judge's share of a score")
    run.add_argument("--concurrency", type=int, choices=range(1, 65), default=4, metavar="1..64")
    run.add_argument("--timeout", type=_number(0.1, 600), default=60.0, help="seconds per request")
    prices = run.add_mutually_exclusive_group()
    prices.add_argument("--prices", type=Path, help="a routing table YAML whose `prices` give the cost")
    prices.add_argument("--stack", help="take the prices from stacks/Pulumi.<stack>.yaml's APP_ROUTING")
    run.add_argument("--out", type=Path, default=Path("eval-results.json"), help="the JSON document")
    run.add_argument("--report", type=Path, help="also write the Markdown report here")
    run.add_argument("--baseline", type=Path, help="an earlier run's JSON: fail on regressions against it too")
    limits = Thresholds()
    for name in ("min_format", "min_relevance", "min_groundedness", "max_error_rate"):
        run.add_argument(f"--{name.replace('_', '-')}", type=_number(0, 1, off=True), default=getattr(limits, name))
    for name in ("max_p50_s", "max_p95_s", "max_cost_usd"):
        run.add_argument(f"--{name.replace('_', '-')}", type=_number(0, off=True), default=getattr(limits, name))
    cmp = commands.add_parser("compare", help="compare two runs' JSON documents")
    cmp.add_argument("base", type=Path)
    cmp.add_argument("new", type=Path)
    tolerance = Tolerance()
    for name in ("score_drop", "latency_growth", "latency_floor_s", "cost_growth"):
        cmp.add_argument(f"--{name.replace('_', '-')}", type=_number(0), default=getattr(tolerance, name))
    return top


def _read_run(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EvalError(f"{path}: cannot read a run's JSON: {exc}") from None
    if not isinstance(document, dict) or not {"run_id", "summary", "items"} <= document.keys():
        raise EvalError(f"{path}: not a run written by `python -m app.evals run` (needs run_id, summary, items)")
    return document


def _prices(args: argparse.Namespace) -> dict:
    if args.prices is not None:
        try:
            return load_prices(args.prices.read_text(), str(args.prices))
        except OSError as exc:
            raise EvalError(f"--prices {args.prices}: {exc}") from None
    if args.stack is not None:
        from app.local import StackError, stack_environment

        try:
            routing = stack_environment(args.stack).get("APP_ROUTING", "")
        except StackError as exc:
            raise EvalError(str(exc)) from None
        return load_prices(routing, f"the APP_ROUTING of stack {args.stack}")
    return {}


def run(args: argparse.Namespace) -> int:
    items = load_dataset(args.dataset)
    key = os.environ.get(args.api_key_env) or None
    if key is None:
        print(f"note: {args.api_key_env} is not set: calling {args.url} without credentials", file=sys.stderr)
    options = Options(
        url=args.url,
        api_key=key,
        model=args.model,
        judge_model=args.judge_model,
        judge_weight=args.judge_weight,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        prices=_prices(args),
    )
    baseline = _read_run(args.baseline) if args.baseline is not None else None
    limits = Thresholds(**{name: getattr(args, name) for name in Thresholds.__dataclass_fields__})
    runner = Runner(options)
    started = time.perf_counter()
    outcomes = asyncio.run(runner.run(items))
    document = build_document(
        options, str(args.dataset), outcomes, limits, runner.run_id, time.perf_counter() - started
    )
    report = render(document)
    status = 0 if document["passed"] else 1
    if baseline is not None:
        comparison = compare(baseline, document, Tolerance())
        document["comparison"] = comparison
        report += "\n" + render_comparison(comparison)
        status = max(status, 1 if comparison["regressions"] else 0)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    if args.report is not None:
        args.report.write_text(report)
    print(report)
    print(f"results: {args.out}")
    return status


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "compare":
            tolerance = Tolerance(**{name: getattr(args, name) for name in Tolerance.__dataclass_fields__})
            result = compare(_read_run(args.base), _read_run(args.new), tolerance)
            print(render_comparison(result))
            return 1 if result["regressions"] else 0
        return run(args)
    except (DatasetError, EvalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
