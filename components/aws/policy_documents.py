"""IAM policy documents shared by the AWS blocks, and the account context they are written for."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

Statement = Mapping[str, Any]


def document(statements: Sequence[Statement]) -> str:
    """A policy document (version 2012-10-17) as the JSON string IAM, S3 and ECR expect."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def read_secrets_statement(secret_arns: Sequence[str]) -> Statement:
    """Read these Secrets Manager secrets (a task's or a function's environment), nothing else."""
    return {
        "Sid": "ReadSecrets",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": sorted(set(secret_arns)),
    }


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


def partition_of_region(region: str) -> str:
    """The partition a region belongs to (``cn-north-1`` -> ``aws-cn``), for ARNs built before any
    resource exists (a Bedrock model ARN in a policy)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


def partition_of(arn: str) -> str:
    """The partition (``aws``, ``aws-cn``, ``aws-us-gov``) an ARN lives in."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]


@dataclass(frozen=True)
class AwsContext:
    """Where policies apply. A dataclass, not a NamedTuple: ``Output.all`` would flatten a tuple."""

    partition: str
    account_id: str
    region: str


def aws_context(parent: pulumi.Resource | None = None) -> pulumi.Output[AwsContext]:
    """Partition, account id and region of the deploying credentials and provider.

    ``parent`` (the calling block) makes the lookups use the provider the block was given, so a
    block deployed with another region's provider writes that region into its policies. The
    partition comes from the caller's ARN, so no extra data source is needed.
    """
    opts = pulumi.InvokeOptions(parent=parent) if parent is not None else None
    identity = aws.get_caller_identity_output(opts=opts)
    region = aws.get_region_output(opts=opts)
    return pulumi.Output.all(identity.arn, identity.account_id, region.region).apply(
        lambda v: AwsContext(partition=partition_of(v[0]), account_id=v[1], region=v[2])
    )
