"""The refactor leaves the shipped AWS graphs as they were, except for the declared fixes.

Each planned graph is compared with ``tests/baselines/<stack>.json`` (saved before the
multi-target refactor) by URN, type and inputs. Every difference must be declared below,
with the fix it belongs to: a resource added or removed, or an input key changed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.baseline_graphs import ROOT, STACKS, load, snapshot

#: fix -> the URN suffixes (``type::name``) it adds, removes, or whose named inputs it changes
#: (the dependency fixes, the ECS service waiting for its listener and compute for its role
#: policies, change no inputs: tests/readiness/ proves them)
DECLARED: dict[str, dict[str, Any]] = {
    "the platform key lets ECR use it (with CreateGrant)": {
        "changed": ["ai-platform:aws:SecretStore$aws:kms/key:Key::ai-platform-secrets-key:policy"],
    },
    "the WAF body-size regex has no capturing group": {
        "changed": ["ai-platform:aws:Gateway$aws:wafv2/webAcl:WebAcl::ai-platform-gateway-waf:rules"],
    },
    "Aurora Enhanced Monitoring in prod": {
        "added": [
            "ai-platform:aws:VectorStore$aws:iam/role:Role::ai-platform-vectors-monitoring-role",
            "ai-platform:aws:VectorStore$aws:iam/rolePolicyAttachment:RolePolicyAttachment"
            "::ai-platform-vectors-monitoring-managed-0",
        ],
        "changed": [
            f"ai-platform:aws:VectorStore$aws:rds/clusterInstance:ClusterInstance::ai-platform-vectors-instance-{i}:{key}"
            for i in (0, 1)
            for key in ("monitoringInterval", "monitoringRoleArn")
        ],
    },
    "app contract: the queue reaches the app as APP_QUEUE_BACKEND/URL/DEAD_LETTER_URL (was AI_PLATFORM_QUEUE_URL)": {
        "changed": [
            "ai-platform:aws:ContainerService$aws:ecs/taskDefinition:TaskDefinition::ai-platform-service-task"
            ":containerDefinitions"
        ],
    },
    "issue 11: the job worker runs beside the API, scaled on queue backlog": {
        "added": [
            "ai-platform:aws:AiPlatform$ai-platform:aws:Worker::ai-platform-worker",
            "ai-platform:aws:Worker$aws:ecs/taskDefinition:TaskDefinition::ai-platform-worker-task",
            "ai-platform:aws:Worker$aws:ecs/service:Service::ai-platform-worker-service",
            "ai-platform:aws:Worker$aws:appautoscaling/target:Target::ai-platform-worker-scaling-target",
            "ai-platform:aws:Worker$aws:appautoscaling/policy:Policy::ai-platform-worker-scale-backlog",
        ],
    },
    "the budget's tag is activated as a cost allocation tag": {
        "added": [
            "ai-platform:aws:Observability$aws:costexplorer/costAllocationTag:CostAllocationTag"
            "::ai-platform-observability-cost-tag"
        ],
    },
}


def _declared(kind: str) -> dict[str, str]:
    """URN suffix (or ``suffix:inputKey`` for changes) -> the fix that declares it."""
    found: dict[str, str] = {}
    for fix, changes in DECLARED.items():
        for entry in changes.get(kind, []):
            found[entry] = fix
    return found


def _suffix(urn: str) -> str:
    return urn.split("::", 2)[2]


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Every undeclared difference between two snapshots (empty when they match)."""
    added, removed, changed = _declared("added"), _declared("removed"), _declared("changed")
    problems = []
    for urn in sorted(after.keys() - before.keys()):
        if _suffix(urn) not in added:
            problems.append(f"added: {urn}")
    for urn in sorted(before.keys() - after.keys()):
        if _suffix(urn) not in removed:
            problems.append(f"removed: {urn}")
    for urn in sorted(before.keys() & after.keys()):
        old, new = before[urn], after[urn]
        if old["type"] != new["type"]:
            problems.append(f"type of {urn}: {old['type']} -> {new['type']}")
        for key in sorted(old["inputs"].keys() | new["inputs"].keys()):
            if old["inputs"].get(key) != new["inputs"].get(key) and f"{_suffix(urn)}:{key}" not in changed:
                problems.append(f"input {key} of {urn}: {old['inputs'].get(key)!r} -> {new['inputs'].get(key)!r}")
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_graph_is_the_baseline_except_the_declared_fixes(stack: str) -> None:
    from ai_platform_cli.main import load_stack, plan_stack

    assert differences(load(stack), snapshot(plan_stack(load_stack(ROOT, stack)))) == []


def test_an_undeclared_change_is_reported() -> None:
    before = load("aws-dev")
    after = {urn: {"type": r["type"], "inputs": dict(r["inputs"])} for urn, r in before.items()}
    urn = next(u for u, r in after.items() if r["type"] == "aws:sqs/queue:Queue")
    after[urn]["inputs"]["delaySeconds"] = 9
    extra = urn.rsplit("::", 1)[0] + "::surprise"
    after[extra] = {"type": "aws:sqs/queue:Queue", "inputs": {}}
    assert differences(before, after) == [
        f"added: {extra}",
        f"input delaySeconds of {urn}: None -> 9",
    ]
