"""Each AWS readiness invariant on small hand-made graphs: it reports the problem, and passes the fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.aws import readiness, secrets
from components.aws.policy_documents import AwsContext, document
from components.aws.secrets import key_policy
from components.readiness import check
from tests.readiness.graphs import ACCOUNT, REGION, graph, kms_key, resource

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"


def via(*services: str, actions: list[str]) -> dict[str, object]:
    """A key policy statement letting this account use the key through ``services``."""
    return {
        "Effect": "Allow",
        "Principal": {"AWS": ROOT_ARN},
        "Action": actions,
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": [f"{s}.{REGION}.amazonaws.com" for s in services]}},
    }


def messages(*resources, invariant) -> list[str]:
    return [f.message for f in check(graph(*resources), [invariant])]


# --- KMS -----------------------------------------------------------------------------------------


def test_a_key_policy_without_the_service_is_reported() -> None:
    key = kms_key(statements=[via("sqs", actions=["kms:Decrypt", "kms:GenerateDataKey*"])])
    secret = resource("aws:secretsmanager/secret:Secret", "secret", {"kmsKeyId": "arn"}, refs={"kmsKeyId": [key]})
    [message] = messages(key, secret, invariant=readiness.key_policy_allows_users)
    assert message == (
        "secret (aws:secretsmanager/secret:Secret) is encrypted with key, but the key policy does not allow this "
        f"account's principals with kms:ViaService secretsmanager.{REGION}.amazonaws.com to call kms:Decrypt, "
        "kms:GenerateDataKey: add them to the key policy"
    )
    key = kms_key(statements=[via("sqs", "secretsmanager", actions=["kms:Decrypt", "kms:GenerateDataKey*"])])
    assert messages(key, secret, invariant=readiness.key_policy_allows_users) == []


def test_a_service_that_keeps_a_grant_needs_create_grant() -> None:
    use = via("rds", actions=["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"])
    key = kms_key(statements=[use])
    cluster = resource("aws:rds/cluster:Cluster", "db", {"kmsKeyId": "arn"}, refs={"kmsKeyId": [key]})
    [message] = messages(key, cluster, invariant=readiness.key_policy_allows_users)
    assert "to call kms:CreateGrant: add them to the key policy" in message
    key = kms_key(statements=[use, via("rds", actions=["kms:CreateGrant"])])
    assert messages(key, cluster, invariant=readiness.key_policy_allows_users) == []


def test_log_groups_need_the_logs_service_principal() -> None:
    key = kms_key(statements=[via("logs", actions=["kms:*"])])  # ViaService is not how Logs calls KMS
    group = resource("aws:cloudwatch/logGroup:LogGroup", "logs", {"kmsKeyId": "arn"}, refs={"kmsKeyId": [key]})
    [message] = messages(key, group, invariant=readiness.key_policy_allows_users)
    assert f"does not allow the service principal logs.{REGION}.amazonaws.com to call kms:Encrypt" in message


def test_an_unknown_use_of_a_key_is_reported() -> None:
    key = kms_key(statements=[])
    volume = resource("aws:ebs/volume:Volume", "disk", {"kmsKeyId": "arn"}, refs={"kmsKeyId": [key]})
    [message] = messages(key, volume, invariant=readiness.key_policy_allows_users)
    assert "a use readiness does not know: add it to KEY_USERS" in message


def test_a_deny_without_condition_wins() -> None:
    allow = via("sqs", actions=["kms:Decrypt", "kms:GenerateDataKey*"])
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
    key = kms_key(statements=[allow, deny])
    queue = resource("aws:sqs/queue:Queue", "q", {"kmsMasterKeyId": "arn"}, refs={"kmsMasterKeyId": [key]})
    [message] = messages(key, queue, invariant=readiness.key_policy_allows_users)
    assert "to call kms:Decrypt: add them" in message


def test_the_platform_key_policy_allows_ecr_with_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix: the platform key's policy (SecretStore's key_policy) lets ECR use the key and keep a grant."""
    repository_of = lambda key: resource(  # noqa: E731
        "aws:ecr/repository:Repository",
        "repo",
        {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn"}]},
        refs={"encryptionConfigurations": [key]},
    )
    context = AwsContext("aws", ACCOUNT, REGION)
    key = kms_key(statements=key_policy(context, []))
    assert messages(key, repository_of(key), invariant=readiness.key_policy_allows_users) == []
    # the fix reverted: the key policy as it was, without ECR
    monkeypatch.setattr(secrets, "KEY_USER_SERVICES", ("secretsmanager", "sqs", "sns", "rds", "elasticache"))
    monkeypatch.setattr(secrets, "KEY_GRANT_SERVICES", ("rds", "elasticache"))
    key = kms_key(statements=key_policy(context, []))
    [message] = messages(key, repository_of(key), invariant=readiness.key_policy_allows_users)
    assert f"kms:ViaService ecr.{REGION}.amazonaws.com to call kms:Decrypt, kms:GenerateDataKey" in message


# --- listener ------------------------------------------------------------------------------------


def _load_balanced(*, waits: bool, forwards: bool = True):
    tg = resource("aws:lb/targetGroup:TargetGroup", "tg")
    listener = resource(
        "aws:lb/listener:Listener", "https", refs={"defaultActions": [tg] if forwards else []}, depends_on=[tg]
    )
    service = resource("aws:ecs/service:Service", "svc", refs={"loadBalancers": [tg, listener] if waits else [tg]})
    return tg, listener, service


def test_a_service_that_does_not_wait_for_its_listener_is_reported() -> None:
    [message] = messages(*_load_balanced(waits=False), invariant=readiness.service_waits_for_listener)
    assert message == "svc does not wait for https, the listener forwarding to tg: make the service depend on it"
    assert messages(*_load_balanced(waits=True), invariant=readiness.service_waits_for_listener) == []


def test_a_target_group_no_listener_forwards_to_is_reported() -> None:
    [message] = messages(*_load_balanced(waits=False, forwards=False), invariant=readiness.service_waits_for_listener)
    assert "svc registers with tg, but no listener forwards to it" in message


# --- role policies -------------------------------------------------------------------------------


def _task(*, waits: bool):
    role = resource("aws:iam/role:Role", "exec-role")
    policy = resource("aws:iam/rolePolicy:RolePolicy", "exec-policy", refs={"role": [role]})
    task = resource(
        "aws:ecs/taskDefinition:TaskDefinition",
        "task",
        refs={"executionRoleArn": [role]},
        depends_on=[policy] if waits else [],
    )
    service = resource("aws:ecs/service:Service", "svc", refs={"taskDefinition": [task]})
    return role, policy, task, service


def test_compute_that_does_not_wait_for_its_role_policy_is_reported() -> None:
    found = messages(*_task(waits=False), invariant=readiness.compute_waits_for_role_policies)
    assert found == [
        "task (aws:ecs/taskDefinition:TaskDefinition) runs with exec-role but does not wait for its policy "
        "exec-policy: make it depend on the policy",
        "svc (aws:ecs/service:Service) runs with exec-role but does not wait for its policy exec-policy: "
        "make it depend on the policy",
    ]
    assert messages(*_task(waits=True), invariant=readiness.compute_waits_for_role_policies) == []


# --- log groups ----------------------------------------------------------------------------------


def _rds(*, group: bool, waits: bool):
    log = resource("aws:cloudwatch/logGroup:LogGroup", "pg-log", {"name": "/aws/rds/cluster/db1/postgresql"})
    cluster = resource(
        "aws:rds/cluster:Cluster",
        "db",
        {"clusterIdentifier": "db1", "enabledCloudwatchLogsExports": ["postgresql"]},
        depends_on=[log] if waits else [],
    )
    return (log, cluster) if group else (cluster,)


def test_a_writer_before_its_log_group_is_reported() -> None:
    [message] = messages(*_rds(group=True, waits=False), invariant=readiness.log_groups_before_writers)
    assert message == (
        "db (aws:rds/cluster:Cluster) writes to pg-log ('/aws/rds/cluster/db1/postgresql') but does not wait "
        "for it: make it depend on the log group"
    )
    assert messages(*_rds(group=True, waits=True), invariant=readiness.log_groups_before_writers) == []


def test_a_log_group_the_program_does_not_create_is_reported() -> None:
    [message] = messages(*_rds(group=False, waits=False), invariant=readiness.log_groups_before_writers)
    assert "writes to log group '/aws/rds/cluster/db1/postgresql', which the program does not create" in message


def test_log_groups_named_by_arn_in_task_definitions_and_flow_logs() -> None:
    log = resource("aws:cloudwatch/logGroup:LogGroup", "app-log", outputs={"name": "app-1"})
    definitions = [{"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "app-1"}}}]
    task = resource("aws:ecs/taskDefinition:TaskDefinition", "task", {"containerDefinitions": json.dumps(definitions)})
    flow = resource(
        "aws:ec2/flowLog:FlowLog", "flow", {"logDestination": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app-1"}
    )
    found = messages(log, task, flow, invariant=readiness.log_groups_before_writers)
    assert [m.split(" (")[0] for m in found] == ["task", "flow"]


# --- parliament ----------------------------------------------------------------------------------


def _role_policy(statements: list[dict[str, object]]):
    return resource("aws:iam/rolePolicy:RolePolicy", "policy", {"policy": document(statements)})


def test_parliament_reports_unknown_actions_and_mismatched_resources() -> None:
    bad = _role_policy(
        [
            {"Effect": "Allow", "Action": "sqs:SendMesage", "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"},
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:s3:::bucket/*"},
        ]
    )
    found = messages(bad, invariant=readiness.documents_pass_parliament)
    assert any("policy policy (identity policy): UNKNOWN_ACTION" in m for m in found), found
    assert any("RESOURCE_MISMATCH" in m for m in found), found
    good = _role_policy(
        [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"}]
    )
    assert messages(good, invariant=readiness.documents_pass_parliament) == []


def test_parliament_runs_per_kind_of_document() -> None:
    trust = document(
        [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    )
    role = resource("aws:iam/role:Role", "role", {"assumeRolePolicy": trust})
    assert messages(role, invariant=readiness.documents_pass_parliament) == []
    as_identity = resource("aws:iam/rolePolicy:RolePolicy", "misplaced", {"policy": trust})
    [message] = messages(as_identity, invariant=readiness.documents_pass_parliament)
    assert "MALFORMED: Statement contains neither Resource nor NotResource" in message


def test_a_policy_document_of_no_known_kind_is_reported() -> None:
    odd = resource("aws:glacier/vault:Vault", "vault", {"accessPolicy": document([])})
    [message] = messages(odd, invariant=readiness.documents_pass_parliament)
    assert "input 'accessPolicy' is a policy document of no known kind: add it to POLICY_DOCUMENTS" in message


def test_every_suppression_has_a_reason(tmp_path: Path) -> None:
    assert all(s.reason.strip() for kind in readiness.suppressions().values() for s in kind)
    bad = tmp_path / "parliament.yaml"
    bad.write_text("key:\n  - issue: RESOURCE_STAR\n")
    with pytest.raises(ValueError, match=r"key\[0\]=\{'issue': 'RESOURCE_STAR'\} needs an 'issue' and a 'reason'"):
        readiness.suppressions(bad)
    bad.write_text("keys: []\n")
    with pytest.raises(ValueError, match=r"unknown document kinds \['keys'\]"):
        readiness.suppressions(bad)


def test_parliament_is_imported_only_when_the_lint_runs() -> None:
    code = "import sys, components.aws, components.aws.readiness; print('parliament' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
