"""SecretStore under the mock runtime: key rotation and policy, encrypted secrets, read statements."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.aws.mocks import ACCOUNT
from components.aws.secrets import SecretStore, SecretStoreArgs
from components.testing import SECRET_MARKER, Graph, plan

REGION = "eu-west-1"
KEY = "aws:kms/key:Key"
SECRET_TYPE = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def _build(overrides: dict[str, object] | None = None) -> Graph:
    def program() -> None:
        config_value = pulumi.Output.secret("sk-live-123")
        args = SecretStoreArgs(
            secrets={"openai-api-key": config_value, "redis-auth-token": "plain-token-value-123"},
            tags={"project": "ai-platform"},
        )
        for name, value in (overrides or {}).items():
            setattr(args, name, value)
        block = SecretStore("sec", args)
        pulumi.export("arns", pulumi.Output.all(**block.secret_arns))
        pulumi.export("read", block.grant_read())
        pulumi.export("read_one", block.grant_read(["openai-api-key"]))
        pulumi.export("key_arn", block.kms_key_arn)

    return plan(program, stack="dev", config={"aws:region": REGION})


def _statements(graph: Graph) -> dict[str, dict[str, Any]]:
    policy = graph.one(KEY).json_input("policy")
    statements = policy["Statement"]
    assert isinstance(statements, list)
    return {s["Sid"]: s for s in statements}


def test_key_rotates_yearly_with_a_long_deletion_window() -> None:
    key = _build().one(KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["rotationPeriodInDays"] == 365
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
    assert key.inputs["multiRegion"] is False
    assert key.inputs["tags"] == {"project": "ai-platform"}


def test_key_alias_targets_the_key() -> None:
    graph = _build()
    alias = graph.one("aws:kms/alias:Alias")
    assert alias.inputs["namePrefix"] == "alias/ai-platform/dev-"
    assert alias.inputs["targetKeyId"] == graph.one(KEY).id


def test_root_administers_but_does_not_use_the_key_directly() -> None:
    admin = _statements(_build())["AccountAdministersKeyThroughIam"]
    assert admin["Principal"] == {"AWS": [f"arn:aws:iam::{ACCOUNT}:root"]}
    actions = admin["Action"]
    assert isinstance(actions, list)
    assert "kms:*" not in actions
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"} & set(actions)
    assert "kms:ScheduleKeyDeletion" in actions and "kms:Put*" in actions


def test_key_use_is_only_through_the_platform_services_of_this_account_and_region() -> None:
    use = _statements(_build())["AccountUsesKeyThroughPlatformServices"]
    assert use["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT,
            "kms:ViaService": [
                f"secretsmanager.{REGION}.amazonaws.com",
                f"sqs.{REGION}.amazonaws.com",
                f"sns.{REGION}.amazonaws.com",
                f"rds.{REGION}.amazonaws.com",
                f"elasticache.{REGION}.amazonaws.com",
                f"ecr.{REGION}.amazonaws.com",
            ],
        }
    }
    grants = _statements(_build())["PlatformServicesCreateGrants"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grants["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"{service}.{REGION}.amazonaws.com" for service in ("rds", "elasticache", "ecr")
    ]


def test_logs_principal_is_regional_and_scoped_to_this_accounts_log_groups() -> None:
    logs = _statements(_build())["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}
    }


def test_alarms_and_budgets_may_use_the_key_for_the_alert_topic() -> None:
    statements = _statements(_build())
    assert statements["CloudWatchAlarmsPublishToEncryptedTopic"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    budgets = statements["BudgetsPublishToEncryptedTopic"]
    assert budgets["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert budgets["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:*"},
    }


def test_no_statement_grants_a_bare_wildcard_action() -> None:
    for sid, statement in _statements(_build()).items():
        actions = statement["Action"]
        assert actions != "*" and "*" not in (actions if isinstance(actions, list) else [actions]), sid
        assert actions != "kms:*" and "kms:*" not in (actions if isinstance(actions, list) else []), sid


def test_each_secret_is_encrypted_with_the_key_and_named_under_the_stack_path() -> None:
    graph = _build()
    secrets = {r.name: r for r in graph.of_type(SECRET_TYPE)}
    assert set(secrets) == {"sec-secret-openai-api-key", "sec-secret-redis-auth-token"}
    secret = secrets["sec-secret-openai-api-key"]
    assert secret.inputs["namePrefix"] == "ai-platform/dev/openai-api-key-"
    assert secret.inputs["kmsKeyId"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{graph.one(KEY).id}"
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.inputs["tags"] == {"project": "ai-platform"}


def test_secret_values_stay_secret_even_when_given_plain() -> None:
    versions = _build().of_type(VERSION)
    assert len(versions) == 2
    assert all(v.inputs["secretString"] == SECRET_MARKER for v in versions)


def test_grant_read_name_exactly_the_secret_arns_and_decrypt_via_secrets_manager() -> None:
    outputs = _build().outputs
    arns = outputs["arns"]
    assert isinstance(arns, dict)
    read = outputs["read"]
    assert isinstance(read, list)
    assert read[0]["Action"] == ["secretsmanager:GetSecretValue"]
    assert read[0]["Resource"] == sorted(arns.values())
    assert read[1] == {
        "Sid": "DecryptPlatformSecrets",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": outputs["key_arn"],
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
    }
    read_one = outputs["read_one"]
    assert isinstance(read_one, list)
    assert read_one[0]["Resource"] == [arns["openai-api-key"]]
    json.dumps(read)  # JSON-ready


def test_grant_read_reject_unknown_names() -> None:
    def program() -> None:
        block = SecretStore("sec", SecretStoreArgs(secrets={"a": "x" * 16}))
        block.grant_read(["b"])

    with pytest.raises(ValueError, match=r"grant_read names=\['b'\] are not secrets of this store: \['a'\]"):
        plan(program)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("recovery_window_days", 0, r"SecretStoreArgs.recovery_window_days=0 is invalid: allowed 7..30 days"),
        ("recovery_window_days", 31, r"recovery_window_days=31 is invalid"),
        ("key_deletion_window_days", 6, r"SecretStoreArgs.key_deletion_window_days=6 is invalid: allowed 7..30"),
        ("key_rotation_period_days", 30, r"key_rotation_period_days=30 is invalid: allowed 90..2560"),
        ("secrets", {"bad name!": "v"}, r"secrets name 'bad name!' is invalid: allowed letters, digits and /_\+=.@-"),
        ("secrets", {"a/b": "v", "a-b": "w"}, r"collide once / and \+ become -"),
        ("secrets", {"x" * 490: "v"}, r"is too long"),
        ("name_prefix", "bad prefix", r"SecretStoreArgs.name_prefix='bad prefix' is invalid"),
    ],
)
def test_invalid_args_are_rejected(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build({field: value})


def test_dev_recovery_window_can_be_shortened() -> None:
    secrets = _build({"recovery_window_days": 7}).of_type(SECRET_TYPE)
    assert {s.inputs["recoveryWindowInDays"] for s in secrets} == {7}
