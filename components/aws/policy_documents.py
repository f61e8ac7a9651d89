"""IAM policy documents shared by the AWS blocks (plain JSON builders, no data-source calls)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Statement = Mapping[str, Any]


def document(statements: Sequence[Statement]) -> str:
    """A policy document (version 2012-10-17) as the JSON string IAM, S3 and ECR expect."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_assume_role_policy(service: str, account_id: str, source_arn_like: str | None = None) -> str:
    """Trust policy letting one AWS service principal assume a role, only on behalf of this
    account (``aws:SourceAccount``, and ``aws:SourceArn`` when given): the confused-deputy guard."""
    condition: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn_like is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn_like}
    return document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ]
    )


def partition_of(arn: str) -> str:
    """The partition (``aws``, ``aws-cn``, ``aws-us-gov``) an ARN lives in."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]
