"""The one place service roles are made: a role only an AWS service may assume, plus its
policies, all children of the calling block (transform keys ``<key>``, ``<key>Policy``,
``<key>Managed<i>``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import Block


@dataclass(frozen=True)
class ServiceRole:
    """A service role and what grants it permissions: whatever runs with the role must wait for
    ``policies`` too (``depends_on``), since the role exists before its policies do."""

    role: aws.iam.Role
    policies: list[pulumi.Resource]


def service_role(
    block: Block,
    key: str,
    *,
    name: str,
    trust_policy: pulumi.Input[str],
    description: str,
    policy: pulumi.Input[str] | None,
    managed_policy_arns: Sequence[pulumi.Input[str]] = (),
) -> ServiceRole:
    """Role ``<block>-<name>-role`` trusted per ``trust_policy``; ``policy`` (a JSON document)
    becomes its inline policy ``<block>-<name>-policy`` (none when ``policy`` is None); each of
    ``managed_policy_arns`` is attached as ``<block>-<name>-managed-<i>``."""
    role = block.child(
        key,
        aws.iam.Role,
        aws.iam.RoleArgs(assume_role_policy=trust_policy, description=description),
        name=f"{name}-role",
    )
    policies: list[pulumi.Resource] = []
    if policy is not None:
        policies.append(
            block.child(
                f"{key}Policy",
                aws.iam.RolePolicy,
                aws.iam.RolePolicyArgs(role=role.id, policy=policy),
                name=f"{name}-policy",
            )
        )
    for index, arn in enumerate(managed_policy_arns):
        policies.append(
            block.child(
                f"{key}Managed{index}",
                aws.iam.RolePolicyAttachment,
                aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=arn),
                name=f"{name}-managed-{index}",
            )
        )
    return ServiceRole(role, policies)
