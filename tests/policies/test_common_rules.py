"""The cross-target rules, driven by facts a stand-in target registers (the real targets' facts are
covered by their stack fixtures)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs, StackValidationPolicy
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions

from policies.catalog import RULES_BY_NAME
from policies.framework import CheckSet, Resource, Stack, Violation, build_policies
from policies.rules import common

PLATFORM = "urn:pulumi:s::p::ai-platform:aws:AiPlatform::ai-platform"


def _target() -> CheckSet:
    target = CheckSet("stand-in")
    target.fact("budget")(lambda r: r.type == "aws:budgets/budget:Budget")
    target.fact("latency-alert")(lambda r: r.get("metricName") == "TargetResponseTime")
    target.fact("error-alert")(lambda r: r.get("metricName") == "HTTPCode_Target_5XX_Count")
    return target


def _run(rule: str, resources: list[Resource], config: Mapping[str, Any] | None = None) -> list[Violation]:
    checks = common.build([_target()]).stack_checks[rule]
    merged = {**RULES_BY_NAME[rule].defaults(), **(config or {})}
    return [v for check in checks for v in check(Stack(resources), merged)]


def _platform(opt_outs: list[str]) -> Resource:
    return Resource("ai-platform:aws:AiPlatform", {"optOuts": opt_outs, "environment": "prod"}, PLATFORM, "ai-platform")


def _alarm(metric: str) -> Resource:
    return Resource("aws:cloudwatch/metricAlarm:MetricAlarm", {"metricName": metric}, f"urn:{metric}", metric)


COMPLETE = [
    _platform([]),
    Resource("aws:budgets/budget:Budget", {}, "urn:budget", "budget"),
    _alarm("TargetResponseTime"),
    _alarm("HTTPCode_Target_5XX_Count"),
]


def test_a_stack_with_budget_and_both_alerts_passes() -> None:
    assert _run("budget-and-alerts", COMPLETE) == []


def test_each_missing_piece_is_reported_at_the_platform_component() -> None:
    for missing, message in [
        ("budget", "the stack has no budget with notifications"),
        ("TargetResponseTime", "the stack has no alert on request latency"),
        ("HTTPCode_Target_5XX_Count", "the stack has no alert on server errors (5xx)"),
    ]:
        resources = [r for r in COMPLETE if r.name != missing]
        (violation,) = _run("budget-and-alerts", resources)
        assert violation.message.startswith(message)
        assert violation.urn == PLATFORM


def test_a_kubernetes_only_stack_needs_alerts_but_no_cloud_budget() -> None:
    deployment = Resource("kubernetes:apps/v1:Deployment", {}, "urn:d", "app")
    found = {v.message for v in _run("budget-and-alerts", [deployment])}
    assert found == {"the stack has no alert on request latency", "the stack has no alert on server errors (5xx)"}


def test_a_stack_without_managed_resources_is_not_judged() -> None:
    assert _run("budget-and-alerts", [_platform([])]) == []


def test_opt_outs_are_reported_unless_allowed() -> None:
    resources = [_platform(["disableWaf", "disableDeletionProtection"])]
    found = _run("insecure-opt-outs", resources)
    assert [v.message for v in found] == [
        "the stack opts out of a secure default: insecure.disableDeletionProtection is set on "
        "ai-platform (ai-platform:aws:AiPlatform)",
        "the stack opts out of a secure default: insecure.disableWaf is set on "
        "ai-platform (ai-platform:aws:AiPlatform)",
    ]
    assert {v.urn for v in found} == {PLATFORM}
    assert [v.message for v in _run("insecure-opt-outs", resources, {"allowed": ["disableWaf"]})] == [found[0].message]


def test_an_opt_out_waives_its_stack_rule_and_nothing_else() -> None:
    """The framework skips `waf-on-entry-points` when the stack declares insecure.disableWaf."""
    target = CheckSet("stand-in")

    @target.stack("waf-on-entry-points")
    def always(stack: Stack, config: Mapping[str, Any]):
        yield Violation("no WAF", None)

    @target.stack("data-protection")
    def always_too(stack: Stack, config: Mapping[str, Any]):
        yield Violation("no deletion protection", None)

    rules = [RULES_BY_NAME["waf-on-entry-points"], RULES_BY_NAME["data-protection"]]
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    props = {"optOuts": ["disableWaf"]}
    component = PolicyResource(
        "ai-platform:aws:AiPlatform", props, PLATFORM, "ai-platform", options, None, None, [], {}
    )
    reported: list[tuple[str, str]] = []
    for policy in build_policies(rules, [target]):
        assert isinstance(policy, StackValidationPolicy)
        policy.validate(StackValidationArgs([component], {}), lambda m, u=None, n=policy.name: reported.append((n, m)))
    assert reported == [("data-protection", "no deletion protection")]


def test_build_rejects_checks_for_unknown_rules_and_wrong_scopes() -> None:
    target = CheckSet("stand-in")
    target.resource("no-such-rule", "aws:s3/bucket:Bucket")(lambda r, c: [])
    try:
        build_policies(list(RULES_BY_NAME.values()), [target])
    except ValueError as error:
        assert "unknown rule 'no-such-rule'" in str(error)
    else:
        raise AssertionError("an unknown rule name must be rejected")
    wrong = CheckSet("stand-in")
    wrong.stack("encryption-at-rest")(lambda s, c: [])
    try:
        build_policies(list(RULES_BY_NAME.values()), [wrong])
    except ValueError as error:
        assert "wrong scope" in str(error)
    else:
        raise AssertionError("a stack check for a resource rule must be rejected")


def test_budget_below_the_fixed_baseline_is_reported_at_the_platform_component() -> None:
    config = {"fixedMonthlyBaseline": 412.5, "monthlyBudget": 300}
    (violation,) = _run("budget-covers-baseline", COMPLETE, config)
    assert violation.urn == PLATFORM
    assert violation.message == (
        "the monthly budget (300.00 USD) is below the stack's fixed baseline "
        "(412.50 USD: what the planned resources cost before any usage)"
    )


def test_budget_rule_passes_when_the_budget_holds_or_no_estimate_was_given() -> None:
    assert _run("budget-covers-baseline", COMPLETE, {"fixedMonthlyBaseline": 300, "monthlyBudget": 300}) == []
    assert _run("budget-covers-baseline", COMPLETE) == []  # the pack prices nothing itself
