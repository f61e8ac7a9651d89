"""The ``ai-platform:aws`` section of a stack file and the rules only AWS has.

``SECTION`` is the section's model; ``check`` adds the AWS cross-key rules (region, CloudWatch
retention values, tag syntax, certificate or zone) to the neutral spec's, each reported at the
key to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from components.spec import MISSING, NAMESPACE, PlatformSpec, Problem, Section

#: CloudWatch Logs accepts only these retention periods (days).
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557)
CLOUDWATCH_RETENTION_DAYS += (2922, 3288, 3653)

_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")
_TAG_KEY = re.compile(r"^[A-Za-z0-9 _.:/=+\-@]{1,128}$")


def certificate_arn(value: str) -> str | None:
    """The ACM certificate ARN rule, shared by the spec and the Gateway block."""
    if _CERTIFICATE_ARN.match(value):
        return None
    return "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"


class LambdaSpec(Section):
    """The function when ``app.runtime`` is ``lambda`` (seed 001: timeout 30 s, memory 512 MB)."""

    timeout_seconds: int = Field(default=30, ge=3, le=900)
    """Longest invocation; the REST API waits at most 29 s (its default integration timeout)."""
    memory_mib: int = Field(default=512, ge=128, le=10240)
    """Memory (CPU grows with it: 1 vCPU at 1,769 MB)."""
    reserved_concurrency: int = Field(default=50, ge=1, le=10_000)
    """Concurrent executions reserved for, and capping, the function: a spike cannot take the
    whole account's pool (1,000 by default) from other functions."""
    provisioned_concurrency: int = Field(default=0, ge=0, le=10_000)
    """Environments kept initialised against cold starts; each costs ~5.40 USD/month at 512 MB
    (x86, us-east-1: 0.0000041667 USD per GB-second, always on) plus a lower per-request price."""


class AwsAppSpec(Section):
    runtime: Literal["container", "lambda"] = "container"
    """``container``: ECS Fargate behind an ALB (streaming). ``lambda``: a container-image function
    behind a regional REST API (pay per request, responses buffered)."""
    lambda_: LambdaSpec = Field(default_factory=LambdaSpec, alias="lambda")


class RestApiSpec(Section):
    """The REST API edge when ``app.runtime`` is ``lambda``."""

    throttle_rate_limit: float = Field(default=100, gt=0, le=10_000)
    """Steady requests per second the stage admits (API Gateway answers 429 beyond it)."""
    throttle_burst_limit: int = Field(default=200, ge=1, le=5_000)
    """Requests the stage admits at once above the steady rate."""
    api_keys: bool = False
    """A usage plan with an API key (``x-api-key``) on every method, for callers who want one;
    the app's own keys still apply."""
    execute_api_endpoint: bool = False
    """Keep the default ``execute-api`` endpoint (it bypasses the custom domain); off by default."""


class AwsSpec(Section):
    certificate_arn: str | None = None
    """An existing ACM certificate for gateway.domain; else one is DNS-validated in hostedZoneId."""
    hosted_zone_id: str | None = None
    """Route 53 zone of gateway.domain: validates the certificate and gets the alias record."""
    cache_node_type: str = "cache.t4g.small"
    vector_min_capacity: float = Field(default=0.5, ge=0, le=256)
    vector_max_capacity: float = Field(default=8, ge=1, le=256)
    bedrock: bool = False
    """Let the app call Amazon Bedrock (InvokeModel) with its task role."""
    app: AwsAppSpec = AwsAppSpec()
    rest_api: RestApiSpec = RestApiSpec()

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        problem = None if value is None else certificate_arn(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _capacity(self) -> AwsSpec:
        if self.vector_min_capacity > self.vector_max_capacity:
            raise ValueError(
                f"vectorMinCapacity ({self.vector_min_capacity}) must not exceed "
                f"vectorMaxCapacity ({self.vector_max_capacity})"
            )
        return self


SECTION = AwsSpec


def check(spec: PlatformSpec, values: Mapping[str, Any]) -> list[Problem]:
    """The AWS rules that span settings (the spec has already checked each value)."""
    problems: list[Problem] = []

    def add(key: str, value: Any, message: str) -> None:
        problems.append(Problem(f"{NAMESPACE}:{key}", message, value))

    if spec.log_retention_days not in CLOUDWATCH_RETENTION_DAYS:
        add(
            "observability.logRetentionDays",
            spec.log_retention_days,
            f"CloudWatch Logs keeps logs for one of {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))} days",
        )
    bad = [key for key in spec.tags if not _TAG_KEY.match(key) or key.lower().startswith("aws:")]
    if bad:
        add(
            "tags",
            spec.tags,
            f"invalid tag keys {bad}: 1-128 of letters, digits, spaces and _.:/=+-@, not starting aws:",
        )
    too_long = [key for key, tag in spec.tags.items() if len(tag) > 256]
    if too_long:
        add("tags", spec.tags, f"tag values longer than 256 characters: {too_long}")
    aws = spec.section(AwsSpec)
    if aws.certificate_arn is None and aws.hosted_zone_id is None:
        add(
            "aws",
            values.get(f"{NAMESPACE}:aws", MISSING),
            "set certificateArn (an ACM certificate for gateway.domain) or hostedZoneId "
            "(a Route 53 zone to issue a DNS-validated one)",
        )
    if aws.app.runtime == "lambda":
        problems.extend(_lambda_problems(spec, aws, values))
    return problems


def _lambda_problems(spec: PlatformSpec, aws: AwsSpec, values: Mapping[str, Any]) -> list[Problem]:
    """What the Lambda runtime cannot do, reported at the key to change."""
    problems: list[Problem] = []
    if spec.queue.enabled:
        problems.append(
            Problem(
                f"{NAMESPACE}:queue.enabled",
                "the job worker runs on ECS: with aws.app.runtime lambda set queue.enabled: false "
                "(or use runtime container)",
                values.get(f"{NAMESPACE}:queue", MISSING),
            )
        )
    function = aws.app.lambda_
    if function.provisioned_concurrency > function.reserved_concurrency:
        problems.append(
            Problem(
                f"{NAMESPACE}:aws.app.lambda.provisionedConcurrency",
                f"must not exceed aws.app.lambda.reservedConcurrency ({function.reserved_concurrency})",
                function.provisioned_concurrency,
            )
        )
    rest = aws.rest_api
    if spec.environment == "prod" and rest.execute_api_endpoint:
        problems.append(
            Problem(
                f"{NAMESPACE}:aws.restApi.executeApiEndpoint",
                "the default execute-api endpoint bypasses the custom domain: it must stay off in prod",
                True,
            )
        )
    return problems
