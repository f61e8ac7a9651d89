"""The offline policy check: a stack's resources through the pack's Analyzer protocol, and the report.

Used by ``ai-platform plan`` (over the planned graph) and ``ai-platform policy check FILE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.analyzer import PackClient, PackInfo, Report, merge
from policies.config import resolve_config
from policies.inputs import StackGraph
from policies.process import StartedPack


def check_graph(
    graph: StackGraph, raw_config: Mapping[str, Any] | None = None, started: StartedPack | None = None
) -> tuple[Report, PackInfo]:
    """Start the pack (or use ``started``), configure it (raising PolicyConfigError first), Analyze each
    resource (after Remediate, when a policy is at the remediate level, as the engine does), then the stack."""
    with PackClient(started=started) as client:
        info = client.get_info()
        config = resolve_config(raw_config, info)
        client.configure(config)
        analyzed, remediations = graph.for_analyze(), []
        if any(entry.get("enforcementLevel") == "remediate" for entry in config.values()):
            analyzed, remediations = client.remediate_all(analyzed)
        resources = client.analyze_all(analyzed)
        stack = client.analyze_stack(graph.for_analyze_stack())
    report = merge(resources, stack)
    report.remediations = remediations
    report.resources = len(graph.resources)
    return report, info


def render_report(report: Report, info: PackInfo) -> str:
    """Violations grouped by policy, then resource, with level, severity and message; then a summary line."""
    lines: list[str] = []
    by_policy: dict[str, dict[str, list[str]]] = {}
    for v in report.violations:
        by_policy.setdefault(v.policy, {}).setdefault(v.urn or "(the stack)", []).append(v.message)
    order = {p.name: i for i, p in enumerate(info.policies)}
    for name in sorted(by_policy, key=lambda n: order.get(n, len(order))):
        first = next(v for v in report.violations if v.policy == name)
        lines.append(f"{name}  [{first.level}{', ' + first.severity if first.severity else ''}]")
        for urn, messages in by_policy[name].items():
            lines.append(f"  {urn}")
            lines += [f"    - {m}" for m in messages]
    if report.remediations:
        lines.append(f"remediated ({len(report.remediations)}; the fixed inputs were checked):")
        for r in report.remediations:
            lines.append(f"  - {r.policy}: {r.urn}" + (f" ({r.diagnostic})" if r.diagnostic else ""))
    if report.not_run:
        lines.append(f"not checked during preview ({len(report.not_run)}; values unknown until deployed):")
        lines += [f"  - {m}" for m in report.not_run]
    mandatory = len(report.mandatory)
    advisory = len(report.violations) - mandatory
    verdict = "FAILED" if mandatory else "passed"
    lines.append(
        f"policy {verdict}: {mandatory} mandatory, {advisory} advisory violation(s) from {info.name} "
        f"({len(info.policies)} policies) over {report.resources} resources"
    )
    return "\n".join(lines)
