"""SecretStore: one customer-managed KMS key (rotated yearly) and Secrets Manager secrets.

The key is the platform's one customer-managed key: secrets, log groups, the SNS alert topic,
the queue, the cache, the database and the image registry are all encrypted with it. Its key policy is least
privilege: the account root may administer it (which delegates administration to IAM) but
not use it; use is allowed only through the AWS services that need it (``kms:ViaService``)
and to the CloudWatch Logs, CloudWatch alarms and AWS Budgets service principals, each
scoped to this account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.policy_documents import AwsContext, Statement, aws_context, document
from components.base import Block, BlockArgs

#: Secrets Manager secret names: letters, digits and ``/_+=.@-``.
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
#: ``name_prefix`` gets a 26-character unique suffix from the provider; names are at most 512.
_MAX_SECRET_NAME = 512 - 26
#: Services whose use of the key on behalf of this account's principals the key policy allows.
KEY_USER_SERVICES = ("secretsmanager", "sqs", "sns", "rds", "elasticache", "ecr")
#: Of those, the services that keep a grant on the key for the life of the encrypted resource.
KEY_GRANT_SERVICES = ("rds", "elasticache", "ecr")


@dataclass(kw_only=True)
class SecretStoreArgs(BlockArgs):
    """Inputs of :class:`SecretStore`."""

    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Logical name (``openai-api-key``) -> value, normally ``pulumi.Config().require_secret(...)``.
    Names use Secrets Manager's characters (letters, digits, ``/_+=.@-``). Default: none."""
    recovery_window_days: int = 30
    """Days a deleted secret can still be restored (7..30). Default 30 (the AWS default); use 7 in dev."""
    key_deletion_window_days: int = 30
    """Days before a scheduled key deletion happens (7..30). Default 30, the longest undo window:
    deleting the key makes every secret, log and snapshot encrypted with it unreadable."""
    key_rotation_period_days: int = 365
    """Automatic key-material rotation period (90..2560 days). Default 365 (yearly, the AWS default period)."""
    name_prefix: str | None = None
    """Path prefix of the secret names; default ``<project>/<stack>`` so IAM can scope by path."""
    kms_key_admin_arns: list[str] = field(default_factory=list)
    """Extra principals allowed to administer (not use) the key. Default none: the account root
    already delegates administration to IAM policies."""


class SecretStore(Block):
    """KMS key with rotation plus one Secrets Manager secret per entry of ``secrets``.

    Transform keys: ``key``, ``alias``, ``secret:<name>``, ``secretVersion:<name>``.
    """

    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key (rotation on) that encrypts the secrets and the platform's data."""
    kms_key_id: pulumi.Output[str]
    """Id of the KMS key."""
    kms_alias_name: pulumi.Output[str]
    """Alias of the KMS key."""
    secret_arns: dict[str, pulumi.Output[str]]
    """Secret name -> ARN of its Secrets Manager secret."""

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:aws:SecretStore", name, args, opts)
        prefix = args.name_prefix or f"{pulumi.get_project()}/{pulumi.get_stack()}"
        ctx = aws_context(self)
        self._context = ctx

        key = self.child(
            "key",
            aws.kms.Key,
            aws.kms.KeyArgs(
                description=f"{prefix}: secrets, logs, alerts, queue, cache and database encryption",
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                enable_key_rotation=True,
                rotation_period_in_days=args.key_rotation_period_days,
                deletion_window_in_days=args.key_deletion_window_days,
                multi_region=False,
                policy=ctx.apply(lambda c: document(key_policy(c, args.kms_key_admin_arns))),
            ),
            stateful=True,
        )
        alias = self.child(
            "alias",
            aws.kms.Alias,
            aws.kms.AliasArgs(name_prefix=f"alias/{_alias_part(prefix)}-", target_key_id=key.key_id),
        )
        self.secret_arns = {}
        for logical, value in args.secrets.items():
            secret = self.child(
                f"secret:{logical}",
                aws.secretsmanager.Secret,
                aws.secretsmanager.SecretArgs(
                    name_prefix=f"{prefix}/{logical}-",
                    description=f"{logical} ({prefix})",
                    kms_key_id=key.arn,
                    recovery_window_in_days=args.recovery_window_days,
                ),
                name=f"secret-{_resource_part(logical)}",
                stateful=True,
            )
            self.child(
                f"secretVersion:{logical}",
                aws.secretsmanager.SecretVersion,
                aws.secretsmanager.SecretVersionArgs(
                    secret_id=secret.id,
                    # The value stays a Pulumi secret even when given as a plain string.
                    secret_string=pulumi.Output.secret(value),
                ),
                name=f"secret-{_resource_part(logical)}-version",
            )
            self.secret_arns[logical] = secret.arn

        self.kms_key_arn = key.arn
        self.kms_key_id = key.key_id
        self.kms_alias_name = alias.name
        self.register_outputs(
            {
                "kmsKeyArn": key.arn,
                "kmsKeyId": key.key_id,
                "kmsAliasName": alias.name,
                "secretArns": self.secret_arns,
            }
        )

    def grant_read(self, names: list[str] | None = None) -> pulumi.Output[list[Statement]]:
        """IAM statements that let a role (the ECS execution role) read the secrets ``names``
        (default: all): ``secretsmanager:GetSecretValue`` on exactly those ARNs and
        ``kms:Decrypt`` on the key, only when called through Secrets Manager."""
        chosen = list(self.secret_arns) if names is None else names
        unknown = sorted(set(chosen) - set(self.secret_arns))
        if unknown:
            raise ValueError(f"grant_read names={unknown} are not secrets of this store: {sorted(self.secret_arns)}")
        arns = [self.secret_arns[n] for n in chosen]
        return pulumi.Output.all(self._context, self.kms_key_arn, *arns).apply(
            lambda v: _read_statements(v[0], v[1], list(v[2:]))
        )

    def read_policy_json(self, names: list[str] | None = None) -> pulumi.Output[str]:
        """:meth:`grant_read` as a complete policy document (for ``aws.iam.RolePolicy``)."""
        return self.grant_read(names).apply(document)


def _read_statements(ctx: AwsContext, key_arn: str, secret_arns: list[str]) -> list[Statement]:
    statements: list[Statement] = []
    if secret_arns:
        statements.append(
            {
                "Sid": "ReadPlatformSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": sorted(secret_arns),
            }
        )
    statements.append(
        {
            "Sid": "DecryptPlatformSecrets",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{ctx.region}.amazonaws.com"}},
        }
    )
    return statements


#: Administration without use (AWS's "key administrators" actions): no Encrypt/Decrypt here.
_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]
_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def key_policy(ctx: AwsContext, extra_admins: list[str]) -> list[Statement]:
    """The key policy of the platform key (see the module docstring)."""
    root = f"arn:{ctx.partition}:iam::{ctx.account_id}:root"
    return [
        {
            "Sid": "AccountAdministersKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": [root, *extra_admins]},
            "Action": _ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "AccountUsesKeyThroughPlatformServices",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": _USE_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": ctx.account_id,
                    "kms:ViaService": [f"{s}.{ctx.region}.amazonaws.com" for s in KEY_USER_SERVICES],
                }
            },
        },
        {
            # RDS, ElastiCache and ECR keep grants on the key for the life of the encrypted resource.
            "Sid": "PlatformServicesCreateGrants",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": ctx.account_id,
                    "kms:ViaService": [f"{s}.{ctx.region}.amazonaws.com" for s in KEY_GRANT_SERVICES],
                },
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        },
        {
            "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{ctx.region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account_id}:log-group:*"
                    )
                }
            },
        },
        {
            # CloudWatch alarms publishing to the encrypted alert topic: SNS uses the key on the
            # publisher's behalf. CloudWatch sends no source-account context to KMS, so the account
            # scoping is in the topic policy (aws:SourceArn = this account's alarms), as AWS documents.
            "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
        {
            "Sid": "BudgetsPublishToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:budgets::{ctx.account_id}:*"},
            },
        },
    ]


def _validate(args: SecretStoreArgs) -> None:
    for field_name in ("recovery_window_days", "key_deletion_window_days"):
        value = getattr(args, field_name)
        if not 7 <= value <= 30:
            raise ValueError(f"SecretStoreArgs.{field_name}={value} is invalid: allowed 7..30 days")
    if not 90 <= args.key_rotation_period_days <= 2560:
        raise ValueError(
            f"SecretStoreArgs.key_rotation_period_days={args.key_rotation_period_days} is invalid: allowed 90..2560"
        )
    if args.name_prefix is not None and not _SECRET_NAME.match(args.name_prefix):
        raise ValueError(
            f"SecretStoreArgs.name_prefix={args.name_prefix!r} is invalid: allowed letters, digits and /_+=.@-"
        )
    parts = [_resource_part(n) for n in args.secrets]
    if len(set(parts)) != len(parts):
        raise ValueError(
            f"SecretStoreArgs.secrets names {sorted(args.secrets)} collide once / and + become - in resource names"
        )
    prefix_len = len(args.name_prefix or f"{pulumi.get_project()}/{pulumi.get_stack()}")
    for logical in args.secrets:
        if not _SECRET_NAME.match(logical):
            raise ValueError(
                f"SecretStoreArgs.secrets name {logical!r} is invalid: allowed letters, digits and /_+=.@-"
            )
        if prefix_len + 1 + len(logical) + 1 > _MAX_SECRET_NAME:
            raise ValueError(
                f"SecretStoreArgs.secrets name {logical!r} is too long: the full name must stay under "
                f"{_MAX_SECRET_NAME} characters"
            )


def _resource_part(logical: str) -> str:
    """A Pulumi-name-friendly form of a logical secret name (``/`` and ``+`` are awkward in URNs)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", logical)


def _alias_part(prefix: str) -> str:
    """KMS alias names allow letters, digits and ``/_-``."""
    return re.sub(r"[^A-Za-z0-9/_-]", "-", prefix)
