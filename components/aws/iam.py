"""The one place service roles are made: a role only an AWS service may assume, plus its one
inline policy, both children of the calling block (transform keys ``<key>``, ``<key>Policy``)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import Block


def service_role(
    block: Block,
    key: str,
    *,
    name: str,
    trust_policy: pulumi.Input[str],
    description: str,
    policy: pulumi.Input[str] | None,
) -> aws.iam.Role:
    """Role ``<block>-<name>-role`` trusted per ``trust_policy``; ``policy`` (a JSON document)
    becomes its inline policy ``<block>-<name>-policy`` (none when ``policy`` is None)."""
    role = block.child(
        key,
        aws.iam.Role,
        aws.iam.RoleArgs(assume_role_policy=trust_policy, description=description),
        name=f"{name}-role",
    )
    if policy is not None:
        block.child(
            f"{key}Policy",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(role=role.id, policy=policy),
            name=f"{name}-policy",
        )
    return role
