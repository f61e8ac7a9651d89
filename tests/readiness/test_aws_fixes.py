"""The AWS fixes of issue #10 on the shipped stacks: each one, reverted, is reported again."""

from __future__ import annotations

import json

from components.aws import readiness
from components.readiness import check
from tests.readiness.graphs import planned, with_input, without_dependency

PROD = "aws-prod"


def names(graph, rule) -> list[str]:
    return [f.message for f in check(graph, [rule])]


def test_the_service_waits_for_the_https_listener() -> None:
    graph = planned(PROD)
    assert names(graph, readiness.service_waits_for_listener) == []
    reverted = without_dependency(graph, "ai-platform-service-service", "ai-platform-gateway-https")
    assert names(reverted, readiness.service_waits_for_listener) == [
        "ai-platform-service-service does not wait for ai-platform-gateway-https, the listener forwarding to "
        "ai-platform-gateway-tg: make the service depend on it"
    ]


def test_task_definition_and_service_wait_for_both_role_policies() -> None:
    graph = planned(PROD)
    for user in ("ai-platform-service-task", "ai-platform-service-service"):
        for policy in ("ai-platform-service-execution-policy", "ai-platform-service-task-policy"):
            reverted = without_dependency(graph, user, policy)
            if user == "ai-platform-service-service":  # the service also waits through its task definition
                reverted = without_dependency(reverted, "ai-platform-service-task", policy)
            found = names(reverted, readiness.compute_waits_for_role_policies)
            assert any(m.startswith(f"{user} ") and policy in m for m in found), found


def test_the_platform_key_lets_ecr_use_it() -> None:
    graph = planned(PROD)
    key = graph.named("ai-platform-secrets-key")
    policy = key.inputs["policy"]
    assert names(graph, readiness.key_policy_allows_users) == []
    without_ecr = policy.replace(', "ecr.us-east-1.amazonaws.com"', "")
    assert without_ecr != policy
    found = names(with_input(graph, key.name, "policy", without_ecr), readiness.key_policy_allows_users)
    assert [m.split(" (")[0] for m in found] == ["ai-platform-registry-repo"]


def test_aurora_enhanced_monitoring_in_prod() -> None:
    graph = planned(PROD)
    role = graph.named("ai-platform-vectors-monitoring-role")
    trust = role.json_input("assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    attachment = graph.named("ai-platform-vectors-monitoring-managed-0")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    instances = graph.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert len(instances) == 2
    for instance in instances:
        assert instance.inputs["monitoringInterval"] == 60
        assert instance.property_dependencies["monitoringRoleArn"] == [role.urn]
        reverted = without_dependency(graph, instance.name, attachment.name)
        [message] = names(reverted, readiness.compute_waits_for_role_policies)
        assert f"{instance.name} (aws:rds/clusterInstance:ClusterInstance) runs with {role.name}" in message
    dev = planned("aws-dev")
    assert "monitoringInterval" not in dev.one("aws:rds/clusterInstance:ClusterInstance").inputs
    assert not [r for r in dev.of_type("aws:iam/role:Role") if "monitoring" in r.name]


def test_the_budget_tag_is_activated_before_the_budget() -> None:
    for stack in ("aws-dev", "aws-prod"):
        graph = planned(stack)
        tag = graph.one("aws:costexplorer/costAllocationTag:CostAllocationTag")
        assert tag.inputs == {"tagKey": "stack", "status": "Active"}
        budget = graph.one("aws:budgets/budget:Budget")
        assert tag.urn in budget.dependencies
        filters = {f["name"]: f["values"] for f in budget.inputs["costFilters"]}
        assert filters["TagKeyValue"] == [f"user:stack${stack}"]


def test_the_waf_regex_has_no_capturing_group() -> None:
    rules = planned(PROD).one("aws:wafv2/webAcl:WebAcl").inputs["rules"]
    regexes = [json.dumps(r) for r in rules if "regexMatchStatement" in r["statement"]]
    assert regexes and all('"regexString": "^0*(?:' in r for r in regexes)
