"""The ``ai-platform:aws`` section of a stack file and the rules only AWS has.

``SECTION`` is the section's model; ``check`` adds the AWS cross-key rules (region, CloudWatch
retention values, tag syntax, certificate or zone) to the neutral spec's, each reported at the
key to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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
    return problems
