"""The one place CloudWatch log groups are made: retention always set, KMS when a key is given."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.spec import CLOUDWATCH_RETENTION_DAYS
from components.base import Block

#: CloudWatch accepts only these retention values (days); 0 would mean "never expire".
ALLOWED_RETENTION_DAYS = CLOUDWATCH_RETENTION_DAYS


def log_group(
    block: Block,
    key: str,
    *,
    retention_days: int,
    kms_key_arn: pulumi.Input[str] | None,
    name: str | None = None,
    log_group_name: pulumi.Input[str] | None = None,
) -> aws.cloudwatch.LogGroup:
    """Create an encrypted log group child of ``block`` with a retention CloudWatch accepts.

    ``log_group_name`` fixes the group's name, for groups a service writes to by convention
    (``/aws/rds/cluster/<id>/postgresql``): created first, the service uses it instead of making
    its own without retention or KMS.
    """
    if retention_days not in ALLOWED_RETENTION_DAYS:
        raise ValueError(
            f"log retention_days={retention_days} is not a CloudWatch retention; allowed: {ALLOWED_RETENTION_DAYS}"
        )
    return block.child(
        key,
        aws.cloudwatch.LogGroup,
        aws.cloudwatch.LogGroupArgs(name=log_group_name, retention_in_days=retention_days, kms_key_id=kms_key_arn),
        name=name,
    )
