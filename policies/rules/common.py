"""Rules that span targets: budgets and alerts, declared opt-outs, and the shared tag logic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.framework import CheckSet, Resource, Stack, Violation, merged_facts, opt_out_key
from policies.providers import BILLED_PACKAGES, MANAGED_PACKAGES


def missing_tags(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The required-tags message for one taggable resource (each target decides what is taggable)."""
    required: Sequence[str] = config.get("requiredTags") or ()
    tags = resource.tags or {}
    missing = [key for key in required if not (isinstance(tags.get(key), str) and tags[key].strip())]
    if missing:
        word = resource.tag_style.word
        yield (
            f"{resource.label} is missing required {word} {', '.join(missing)}; "
            f"every taggable resource needs {', '.join(required)}"
        )


def build(targets: Sequence[CheckSet]) -> CheckSet:
    """The cross-target checks, asking every target for its facts (what a budget or an alert is)."""
    checks = CheckSet("common")
    budgets = merged_facts(targets, "budget")
    latency_alerts = merged_facts(targets, "latency-alert")
    error_alerts = merged_facts(targets, "error-alert")

    @checks.stack("budget-and-alerts")
    def budget_and_alerts(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
        managed = [r for r in stack.resources if r.package in MANAGED_PACKAGES]
        if not managed:
            return
        anchor = _anchor(stack)
        on_cloud = any(r.package in BILLED_PACKAGES for r in managed)
        if on_cloud and not any(fact(r) for r in stack.resources for fact in budgets):
            yield Violation(
                "the stack has no budget with notifications (AWS Budget, GCP billing budget, Azure consumption budget)",
                anchor,
            )
        if not any(fact(r) for r in stack.resources for fact in latency_alerts):
            yield Violation("the stack has no alert on request latency", anchor)
        if not any(fact(r) for r in stack.resources for fact in error_alerts):
            yield Violation("the stack has no alert on server errors (5xx)", anchor)

    @checks.stack("budget-covers-baseline")
    def budget_covers_baseline(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
        baseline = float(config.get("fixedMonthlyBaseline") or 0)
        budget = float(config.get("monthlyBudget") or 0)
        if baseline <= 0 or budget <= 0 or budget >= baseline:
            return
        currency = config.get("currency") or "USD"
        yield Violation(
            f"the monthly budget ({budget:,.2f} {currency}) is below the stack's fixed baseline "
            f"({baseline:,.2f} {currency}: what the planned resources cost before any usage)",
            _anchor(stack),
        )

    @checks.stack("insecure-opt-outs")
    def declared_opt_outs(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
        allowed = set(config.get("allowed") or ())
        for name, component in sorted(stack.opt_outs().items()):
            if name not in allowed:
                yield Violation(
                    f"the stack opts out of a secure default: {opt_out_key(name)} is set on {component.label}",
                    component.urn,
                )

    return checks


def _anchor(stack: Stack) -> str | None:
    """Where stack-wide violations are reported: the platform component, else the stack resource."""
    for r in stack.platform_components():
        return r.urn
    for r in stack.resources:
        if r.type == "pulumi:pulumi:Stack":
            return r.urn
    return None
