"""The composed AWS platform: shipped stacks, tags everywhere, secrets never plain, and the
spec's promises over generated configs (every valid one builds, every invalid one registers
nothing)."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import keyword
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ai_platform_cli.main import load_stack, plan_stack
from components.program import run
from components.spec import SpecError
from components.testing import Graph, PlanMocks, plan
from tests.stackconfig import INVALID_CHANGES, SECRETS, apply_change, baseline, valid_configs

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.aws-*.yaml"))
#: the stacks on the container runtime (ECS); the serverless ones are tested in tests/aws/test_serverless.py
CONTAINER_STACKS = [s for s in STACKS if not s.startswith("aws-serverless")]
REQUIRED_TAGS = {"owner", "cost-center"}


@functools.cache
def planned(stack: str) -> Graph:
    return plan_stack(load_stack(ROOT, stack))


def plan_config(config: dict) -> Graph:
    return plan(run, stack="test", config=config, secret_keys=[k for k in config if k in SECRETS])


@functools.cache
def takes_tags(type_token: str) -> bool:
    """Whether the provider's args class for this resource type accepts `tags`."""
    package, module_path, name = type_token.split(":")
    if package != "aws":
        return False
    service = module_path.split("/")[0]
    service = f"{service}_" if keyword.iskeyword(service) else service  # aws:lambda/... is pulumi_aws.lambda_
    module = importlib.import_module("pulumi_aws" if module_path.startswith("index") else f"pulumi_aws.{service}")
    args_class = getattr(module, f"{name}Args", None)
    return args_class is not None and "tags" in inspect.signature(args_class.__init__).parameters


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_resource_carries_the_required_tags(stack: str) -> None:
    graph = planned(stack)
    untagged = [
        f"{r.type} {r.name}"
        for r in graph.resources
        if r.custom and takes_tags(r.type) and not set(r.inputs.get("tags") or {}) >= REQUIRED_TAGS
    ]
    assert untagged == []
    assert sum(1 for r in graph.resources if r.custom and takes_tags(r.type)) > 30


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_never_appear_in_plain_inputs(stack: str) -> None:
    text = json.dumps(planned(stack).to_json())
    assert "offline-placeholder" not in text
    for value in SECRETS.values():
        assert value not in text


@pytest.mark.parametrize("stack", CONTAINER_STACKS)
@pytest.mark.parametrize("task_name", ["ai-platform-service-task", "ai-platform-worker-task"])
def test_task_definitions_pass_secrets_only_as_references(stack: str, task_name: str) -> None:
    task = planned(stack).one("aws:ecs/taskDefinition:TaskDefinition", name=task_name)
    (container,) = json.loads(task.inputs["containerDefinitions"])
    plain = {e["name"] for e in container.get("environment", [])}
    referenced = {s["name"] for s in container["secrets"]}
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "APP_API_KEYS_SHA256", "APP_REDIS_PASSWORD"} <= referenced
    assert not plain & referenced
    assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"])


@pytest.mark.parametrize("stack", CONTAINER_STACKS)
def test_stack_exports_the_endpoint_and_key_identifiers(stack: str) -> None:
    graph = planned(stack)
    domain = "api.example.com" if stack == "aws-prod" else "api.dev.example.com"
    assert graph.outputs["url"] == f"https://{domain}"
    for key in ("repositoryUrl", "imageRef", "clusterName", "serviceName", "kmsKeyArn", "alertTopicArn", "queueUrl"):
        assert graph.outputs[key], key
    assert "@sha256:" in graph.outputs["imageRef"]


def test_opt_outs_are_recorded_where_policies_can_see_them() -> None:
    config = baseline("prod")
    config["ai-platform:insecure"] = {"disableWaf": True}
    graph = plan_config(config)
    platform = graph.one("ai-platform:aws:AiPlatform")
    assert platform.inputs["optOuts"] == ["disableWaf"]
    assert graph.of_type("aws:wafv2/webAcl:WebAcl") == []
    assert planned("aws-prod").one("ai-platform:aws:AiPlatform").inputs["optOuts"] == []


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_every_valid_config_builds_a_graph(config: dict) -> None:
    graph = plan_config(config)
    counts = graph.type_counts()
    assert counts["ai-platform:aws:AiPlatform"] == 1
    assert counts["aws:ecs/service:Service"] == 1 + int(config["ai-platform:queue"]["enabled"])  # API (+ worker)
    assert counts["aws:elasticache/replicationGroup:ReplicationGroup"] == int(config["ai-platform:cache"]["enabled"])
    assert counts["aws:rds/cluster:Cluster"] == int(config["ai-platform:vectorStore"]["enabled"])
    assert counts["aws:ec2/natGateway:NatGateway"] == (
        config["ai-platform:network"]["zones"] if config["ai-platform:network"]["natGateways"] == "perZone" else 1
    )


class CountingMocks(PlanMocks):
    """Mock provider that counts every resource the program asks to create."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def new_resource(self, args):
        self.created.append(args.typ)
        return super().new_resource(args)


@pytest.mark.parametrize(("key", "path", "value", "words"), INVALID_CHANGES)
def test_every_invalid_config_fails_before_any_resource_is_registered(key, path, value, words) -> None:
    mocks = CountingMocks()
    config = apply_change(baseline(), key, path, value)
    with pytest.raises(SpecError) as caught:
        plan(run, stack="test", config=config, secret_keys=list(SECRETS), mocks=mocks)
    assert words in str(caught.value)
    assert mocks.created == []


def test_the_counting_mocks_do_count() -> None:
    mocks = CountingMocks()
    plan(run, stack="test", config=baseline(), secret_keys=list(SECRETS), mocks=mocks)
    assert len(mocks.created) > 50


STATEFUL_TYPES = {
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:rds/cluster:Cluster",
}


def test_prod_protects_the_stateful_resources_and_only_those() -> None:
    graph = planned("aws-prod")
    protected = {r.type for r in graph.resources if r.protect}
    assert protected == STATEFUL_TYPES
    assert not any(r.protect for r in planned("aws-dev").resources)


def test_unprotecting_stateful_resources_in_prod_is_a_named_opt_out() -> None:
    config = baseline("prod")
    config["ai-platform:insecure"] = {"unprotectStatefulResources": True}
    graph = plan_config(config)
    assert not any(r.protect for r in graph.resources)
    assert graph.one("ai-platform:aws:AiPlatform").inputs["optOuts"] == ["unprotectStatefulResources"]


@pytest.mark.parametrize(("region", "partition"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn")])
def test_bedrock_model_arns_take_the_partition_of_the_region(region: str, partition: str) -> None:
    config = baseline("dev")
    config["aws:region"] = region
    config["ai-platform:aws"] = {**config.get("ai-platform:aws", {}), "bedrock": True}
    graph = plan_config(config)
    documents = [json.loads(p.inputs["policy"]) for p in graph.of_type("aws:iam/rolePolicy:RolePolicy")]
    resources = [
        resource
        for document in documents
        for statement in document["Statement"]
        if statement.get("Sid") == "InvokeBedrockModels"
        for resource in statement["Resource"]
    ]
    assert resources == [f"arn:{partition}:bedrock:{region}::foundation-model/*"]
