"""The Lambda runtime (``ai-platform:aws`` ``app.runtime: lambda``): the spec's rules, the Function
and RestApi blocks' refusals, and what the shipped serverless stacks plan (secrets as ARNs only, the
role reading exactly those secrets, the shared web ACL, the streaming decision)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from components.aws.function import Function, FunctionArgs, function_environment
from components.aws.rest_api import RestApi, RestApiArgs
from components.program import run
from components.spec import PlatformSpec, SpecError
from components.testing import Graph, plan
from tests.stackconfig import SECRETS, baseline

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "ab" * 32
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/openai-AbCdEf"


@functools.cache
def planned(stack: str) -> Graph:
    return plan_stack(load_stack(ROOT, stack))


def serverless(environment: str = "dev", **aws: Any) -> dict[str, Any]:
    config = baseline(environment)
    config["ai-platform:queue"] = {"enabled": False}
    config["ai-platform:aws"] = {**config.get("ai-platform:aws", {}), "app": {"runtime": "lambda"}, **aws}
    return config


def problems(config: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as error:
        PlatformSpec.from_config(config, secret_keys=[k for k in config if k in SECRETS])
    return {p.key: p.message for p in error.value.problems}


# --- the spec ------------------------------------------------------------------------------------


def test_container_is_the_default_runtime() -> None:
    spec = PlatformSpec.from_config(baseline("dev"), secret_keys=list(SECRETS))
    from components.aws.spec import AwsSpec

    assert spec.section(AwsSpec).app.runtime == "container"
    assert spec.section(AwsSpec).app.lambda_.timeout_seconds == 30
    assert spec.section(AwsSpec).app.lambda_.memory_mib == 512


def test_the_lambda_runtime_refuses_the_job_queue() -> None:
    config = serverless()
    config["ai-platform:queue"] = {"enabled": True}
    found = problems(config)
    assert "job worker runs on ECS" in found["ai-platform:queue.enabled"]


def test_provisioned_concurrency_cannot_exceed_reserved() -> None:
    config = serverless(app={"runtime": "lambda", "lambda": {"reservedConcurrency": 2, "provisionedConcurrency": 3}})
    found = problems(config)
    assert found["ai-platform:aws.app.lambda.provisionedConcurrency"] == (
        "must not exceed aws.app.lambda.reservedConcurrency (2)"
    )


def test_prod_keeps_the_execute_api_endpoint_off() -> None:
    found = problems(serverless("prod", restApi={"executeApiEndpoint": True}))
    assert "must stay off in prod" in found["ai-platform:aws.restApi.executeApiEndpoint"]


@pytest.mark.parametrize(
    ("app", "key"),
    [
        ({"runtime": "fargate"}, "ai-platform:aws.app.runtime"),
        ({"runtime": "lambda", "lambda": {"timeoutSeconds": 901}}, "ai-platform:aws.app.lambda.timeoutSeconds"),
        ({"runtime": "lambda", "lambda": {"memoryMib": 64}}, "ai-platform:aws.app.lambda.memoryMib"),
        ({"runtime": "lambda", "lambda": {"reservedConcurrency": 0}}, "ai-platform:aws.app.lambda.reservedConcurrency"),
        ({"runtime": "lambda", "lambda": {"reserved": 5}}, "ai-platform:aws.app.lambda.reserved"),
    ],
)
def test_bad_runtime_settings_are_named(app: dict[str, Any], key: str) -> None:
    assert key in problems(serverless(app=app))


# --- the blocks' refusals ------------------------------------------------------------------------


def function_args(**changes: Any) -> FunctionArgs:
    values: dict[str, Any] = {
        "vpc_id": "vpc-1",
        "subnet_ids": ["subnet-1", "subnet-2"],
        "vpc_cidr_block": "10.0.0.0/16",
        "image": DIGEST,
        "secrets": {"OPENAI_API_KEY": SECRET_ARN},
    }
    return FunctionArgs(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"memory_mib": 64}, "FunctionArgs.memory_mib=64: Lambda allows 128-10240 MB"),
        ({"timeout_seconds": 901}, "FunctionArgs.timeout_seconds=901: Lambda allows 1-900 s"),
        ({"reserved_concurrency": 0}, "FunctionArgs.reserved_concurrency=0: reserve at least 1"),
        ({"provisioned_concurrency": 60}, "FunctionArgs.provisioned_concurrency=60: must be 0 to reserved"),
        ({"image": "repo:latest"}, "FunctionArgs.image='repo:latest' is not pinned by digest"),
        ({"environment": {"OPENAI_API_KEY": "sk-x"}}, "FunctionArgs.environment['OPENAI_API_KEY']: "),
        ({"secrets": {"OPENAI_API_KEY": "sk-x"}}, "FunctionArgs.secrets['OPENAI_API_KEY']='sk-x' is not a Secrets"),
        ({"tracing": "Off"}, "FunctionArgs.tracing='Off': 'Active' or 'PassThrough'"),
        (
            {"policy_statements": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            "FunctionArgs.policy_statements[0]: wildcard action 's3:*' is not least privilege",
        ),
    ],
)
def test_function_refuses_bad_args(changes: dict[str, Any], message: str) -> None:
    def program() -> None:
        Function("fn", function_args(**changes))

    with pytest.raises(ValueError) as error:
        plan(program)
    assert message in str(error.value)


def test_the_environment_holds_secret_arns_and_fits_lambdas_limit() -> None:
    variables = function_environment({"APP_LOG_LEVEL": "info"}, {"OPENAI_API_KEY": SECRET_ARN})
    assert variables == {"APP_LOG_LEVEL": "info", "OPENAI_API_KEY_SECRET_ARN": SECRET_ARN}
    with pytest.raises(ValueError, match="Lambda allows 4096; move large settings"):
        function_environment({"APP_ROUTING": "x" * 5000}, {})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"integration_timeout_ms": 30_000}, "RestApiArgs.integration_timeout_ms=30000: API Gateway allows 50-29000"),
        ({"throttle_burst_limit": 0}, "RestApiArgs.throttle_burst_limit=0: must be 1-5000"),
        ({"rate_limit_per_ip": 5}, "RestApiArgs.rate_limit_per_ip=5: WAF rate-based rules accept 10"),
        ({"domain": "API.example.com"}, "RestApiArgs.domain='API.example.com' must be a lower-case DNS name"),
        ({"hosted_zone_id": None}, "RestApiArgs: give certificate_arn"),
        ({"ip_allowlist": ["0.0.0.0/0"]}, "RestApiArgs.ip_allowlist: '0.0.0.0/0' allows everyone"),
    ],
)
def test_rest_api_refuses_bad_args(changes: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "domain": "api.example.com",
        "invoke_arn": "arn:aws:apigateway:us-east-1:lambda:path/x",
        "hosted_zone_id": "Z1",
    }

    def program() -> None:
        RestApi("api", RestApiArgs(**{**args, **changes}))

    with pytest.raises(ValueError) as error:
        plan(program)
    assert message in str(error.value)


def test_function_documents_its_child_keys(child_keys: Any) -> None:
    def program() -> None:
        function = Function("fn", function_args(provisioned_concurrency=1, kms_key_arn="arn:aws:kms:us-east-1:1:key/x"))
        function.allow_invoke("apiGateway", "apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:1:a1/*")

    plan(program)
    assert child_keys.used and child_keys.undocumented(FunctionArgs) == []


def test_rest_api_documents_its_child_keys(child_keys: Any) -> None:
    def program() -> None:
        RestApi("api", RestApiArgs(domain="api.example.com", invoke_arn="arn:x", hosted_zone_id="Z1", api_keys=True))

    plan(program)
    assert "usagePlan" in child_keys.used and child_keys.undocumented(RestApiArgs) == []


# --- what the shipped stacks plan -----------------------------------------------------------------


@pytest.mark.parametrize("stack", ["aws-serverless", "aws-serverless-prod"])
def test_the_function_gets_only_secret_arns_and_its_role_reads_exactly_them(stack: str) -> None:
    graph = planned(stack)
    function = graph.one("aws:lambda/function:Function")
    variables = function.inputs["environment"]["variables"]
    secret_variables = {k: v for k, v in variables.items() if k.endswith("_SECRET_ARN")}
    assert set(secret_variables) == {
        "OPENAI_API_KEY_SECRET_ARN",
        "ANTHROPIC_API_KEY_SECRET_ARN",
        "APP_API_KEYS_SHA256_SECRET_ARN",
        "APP_REDIS_PASSWORD_SECRET_ARN",
    }
    assert all(v.startswith("arn:aws:secretsmanager:") for v in secret_variables.values())
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "APP_API_KEYS_SHA256", "APP_REDIS_PASSWORD"):
        assert name not in variables
    assert variables["APP_RESPONSE_STREAMING"] == "false"
    assert variables["APP_REQUEST_TIMEOUT_S"] == "27"  # answers before the 29 s integration timeout
    policy = json.loads(
        graph.one("aws:iam/rolePolicy:RolePolicy", name="ai-platform-function-function-policy").inputs["policy"]
    )
    (read,) = [s for s in policy["Statement"] if s.get("Sid") == "ReadSecrets"]
    assert sorted(read["Resource"]) == sorted(secret_variables.values())
    assert any("rds-db:connect" in json.dumps(s) for s in policy["Statement"])  # IAM database auth


@pytest.mark.parametrize("stack", ["aws-serverless", "aws-serverless-prod"])
def test_the_rest_api_uses_the_alb_paths_web_acl_rules(stack: str) -> None:
    rules = {r["name"] for r in planned(stack).one("aws:wafv2/webAcl:WebAcl").inputs["rules"]}
    container_stack = "aws-dev" if stack == "aws-serverless" else "aws-prod"
    alb_rules = {r["name"] for r in planned(container_stack).one("aws:wafv2/webAcl:WebAcl").inputs["rules"]}
    assert rules == alb_rules
    association = planned(stack).one("aws:wafv2/webAclAssociation:WebAclAssociation")
    stage = planned(stack).one("aws:apigateway/stage:Stage")
    assert stage.urn in association.property_dependencies["resourceArn"]


def test_the_function_runs_in_the_private_subnets_with_the_stores_admitting_it() -> None:
    graph = planned("aws-serverless")
    function = graph.one("aws:lambda/function:Function")
    private = {r.urn for r in graph.of_type("aws:ec2/subnet:Subnet") if "private" in r.name}
    assert len(function.inputs["vpcConfig"]["subnetIds"]) == 2
    assert set(function.property_dependencies["vpcConfig"]) & private == private
    (group,) = function.inputs["vpcConfig"]["securityGroupIds"]
    admitted = [
        r
        for r in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("referencedSecurityGroupId") == group
    ]
    assert {r.name for r in admitted} == {"ai-platform-cache-ingress-function", "ai-platform-vectors-ingress-function"}


def test_a_serverless_config_builds_the_function_and_not_ecs() -> None:
    config = serverless("prod")
    graph = plan(run, stack="test", config=config, secret_keys=[k for k in config if k in SECRETS])
    counts = graph.type_counts()
    assert counts["aws:lambda/function:Function"] == 1
    assert counts.get("aws:ecs/service:Service", 0) == 0
    assert counts.get("aws:lb/loadBalancer:LoadBalancer", 0) == 0
