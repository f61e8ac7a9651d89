"""ContainerService block: Fargate task hardening, IAM scoping, networking and autoscaling."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.aws.container_service import FARGATE_SIZES, ContainerService, ContainerServiceArgs
from components.testing import plan

DIGEST = "sha256:" + "0" * 64
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ai-platform/app@{DIGEST}"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:llm-keys-AbCdEf"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def build(**kwargs):
    values = {
        "vpc_id": "vpc-1",
        "vpc_cidr_block": "10.0.0.0/16",
        "subnet_ids": ["subnet-p1", "subnet-p2"],
        "load_balancer_security_group_id": "sg-alb",
        "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/73e2d6bc24d8a067",
        "listener_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/alb/50dc6c495c0c9188/f2f7",
        "load_balancer_arn_suffix": "app/alb/50dc6c495c0c9188",
        "target_group_arn_suffix": "targetgroup/tg/73e2d6bc24d8a067",
        "image": IMAGE,
        **kwargs,
    }

    def program() -> None:
        ContainerService("app", ContainerServiceArgs(**values))

    return program


def container(graph):
    definitions = json.loads(graph.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    assert len(definitions) == 1
    return definitions[0]


def test_task_definition_hardening():
    graph = plan(
        build(environment={"LOG_LEVEL": "info"}, secrets={"OPENAI_API_KEY": f"{SECRET}:openai::"}, secret_arns=[SECRET])
    )
    task = graph.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (task["cpu"], task["memory"], task["networkMode"]) == ("1024", "2048", "awsvpc")
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["volumes"] == [{"name": "tmp"}]
    c = container(graph)
    assert c["image"] == IMAGE
    assert c["user"] == "10001:10001"
    assert c["readonlyRootFilesystem"] is True and c["privileged"] is False
    assert c["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert c["linuxParameters"]["initProcessEnabled"] is True
    assert c["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    assert c["stopTimeout"] == 120
    assert c["portMappings"][0]["containerPort"] == 8000
    assert "http://127.0.0.1:8000/health" in c["healthCheck"]["command"][-1]
    assert c["environment"] == [{"name": "LOG_LEVEL", "value": "info"}]
    assert c["secrets"] == [{"name": "OPENAI_API_KEY", "valueFrom": f"{SECRET}:openai::"}]
    assert "OPENAI_API_KEY" not in json.dumps(c["environment"])
    logs = c["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert logs["options"]["awslogs-group"] == graph.one(LOG_GROUP).id
    assert logs["options"]["awslogs-region"] == "us-east-1"


def test_service_private_no_public_ip_circuit_breaker_no_exec():
    graph = plan(build())
    service = graph.one("aws:ecs/service:Service").inputs
    assert service["launchType"] == "FARGATE"
    assert service["networkConfiguration"] == {
        "subnets": ["subnet-p1", "subnet-p2"],
        "securityGroups": [graph.one("aws:ec2/securityGroup:SecurityGroup", name="app-tasks-sg").id],
        "assignPublicIp": False,
    }
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["enableExecuteCommand"] is False
    assert service["desiredCount"] == 2
    assert service["loadBalancers"][0]["containerName"] == "app"
    assert service["loadBalancers"][0]["containerPort"] == 8000
    cluster = graph.one("aws:ecs/cluster:Cluster").inputs
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]


def test_security_group_only_from_alb():
    graph = plan(build())
    ingress = graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert len(ingress) == 1
    rule = ingress[0].inputs
    assert rule["referencedSecurityGroupId"] == "sg-alb"
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (8000, 8000, "tcp")
    assert "cidrIpv4" not in rule
    egress = {r.name: r.inputs for r in graph.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    assert egress["app-tasks-https-out"]["cidrIpv4"] == "0.0.0.0/0"
    assert (egress["app-tasks-https-out"]["fromPort"], egress["app-tasks-https-out"]["toPort"]) == (443, 443)
    assert egress["app-tasks-vpc-out"]["cidrIpv4"] == "10.0.0.0/16"


def test_execution_role_least_privilege():
    graph = plan(build(secrets={"DB_PASSWORD": SECRET}, secret_arns=[SECRET], kms_key_arn=KEY))
    roles = {r.name: r.inputs for r in graph.of_type("aws:iam/role:Role")}
    for role in roles.values():
        trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    task_trust = json.loads(roles["app-task-role"]["assumeRolePolicy"])["Statement"][0]
    assert task_trust["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*"}
    policies = {r.name: json.loads(r.inputs["policy"]) for r in graph.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert set(policies) == {"app-execution-policy"}  # no task policy without statements
    sids = {s["Sid"]: s for s in policies["app-execution-policy"]["Statement"]}
    assert sids["ReadSecrets"]["Resource"] == [SECRET]
    assert sids["ReadSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    assert sids["PullImage"]["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/ai-platform/app"
    group = graph.one(LOG_GROUP).id
    assert sids["WriteLogs"]["Resource"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
    assert sids["DecryptSecrets"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    for statement in sids.values():
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        assert all(a != "*" and not a.endswith(":*") for a in actions)
    assert graph.one(LOG_GROUP).inputs["kmsKeyId"] == KEY


def test_task_role_gets_only_the_given_statements():
    statement = {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": QUEUE}
    graph = plan(build(task_policy_statements=[statement]))
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", name="app-task-policy").inputs["policy"])
    assert policy["Statement"] == [statement]


def test_autoscaling_on_cpu_and_requests_per_target():
    graph = plan(build(min_replicas=3, max_replicas=12, requests_per_target=600))
    target = graph.one("aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 12)
    cluster = graph.one("aws:ecs/cluster:Cluster").outputs["name"]
    service = graph.one("aws:ecs/service:Service").outputs["name"]
    assert target["resourceId"] == f"service/{cluster}/{service}"
    assert target["scalableDimension"] == "ecs:service:DesiredCount"
    policies = {
        p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]: p.inputs["targetTrackingScalingPolicyConfiguration"]
        for p in graph.of_type("aws:appautoscaling/policy:Policy")
    }
    assert policies["ECSServiceAverageCPUUtilization"]["targetValue"] == 70
    requests = policies["ALBRequestCountPerTarget"]
    assert requests["targetValue"] == 600
    assert requests["predefinedMetricSpecification"]["resourceLabel"] == (
        "app/alb/50dc6c495c0c9188/targetgroup/tg/73e2d6bc24d8a067"
    )


def test_every_fargate_size_is_accepted():
    cpu = max(FARGATE_SIZES)
    graph = plan(build(cpu=cpu, memory=FARGATE_SIZES[cpu][-1]))
    assert graph.one("aws:ecs/taskDefinition:TaskDefinition").inputs["memory"] == "122880"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cpu": 300}, "Fargate accepts"),
        ({"subnet_ids": []}, "subnet_ids is empty"),
        ({"cpu": 256, "memory": 4096}, "memory=4096 is not valid with cpu=256"),
        ({"cpu": 8192, "memory": 17408}, "memory=17408 is not valid with cpu=8192"),
        ({"environment": {"OPENAI_API_KEY": "sk-123"}}, "looks like a secret .* `secrets`"),
        ({"environment": {"db_password": "x"}}, "looks like a secret"),
        ({"environment": {"1BAD": "x"}}, "is not an environment variable name"),
        ({"secrets": {"X": "plain-value"}, "secret_arns": [SECRET]}, "is not a Secrets Manager ARN"),
        ({"secrets": {"X": SECRET}}, "secret_arns is empty"),
        (
            {"environment": {"A": "1"}, "secrets": {"A": SECRET}, "secret_arns": [SECRET]},
            "both plain environment and secrets",
        ),
        ({"image": "nginx:latest"}, "is not pinned by digest"),
        ({"min_replicas": 0}, "min_replicas"),
        ({"min_replicas": 5, "max_replicas": 4}, "min_replicas"),
        ({"user": "0:0"}, "non-root"),
        ({"user": "root"}, "non-root"),
        ({"stop_timeout_seconds": 300}, "Fargate allows 2-120"),
        ({"log_retention_days": 10}, "not a CloudWatch retention"),
        ({"task_policy_statements": [{"Effect": "Allow", "Action": "sqs:*", "Resource": QUEUE}]}, "wildcard action"),
        ({"task_policy_statements": [{"Effect": "Allow", "Action": "*", "Resource": QUEUE}]}, "wildcard action"),
        ({"task_policy_statements": [{"Effect": "Allow", "Action": "sqs:SendMessage"}]}, "give the Resource"),
    ],
)
def test_validation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan(build(**kwargs))


def test_secret_not_in_secret_arns_is_rejected():
    other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ123"
    with pytest.raises(ValueError, match=r"\['TOKEN_A'\] reference secrets missing from secret_arns"):
        plan(build(secrets={"TOKEN_A": other}, secret_arns=[SECRET]))


def test_every_child_key_is_documented(child_keys):
    plan(build(task_policy_statements=[{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE}]))
    assert {"service", "taskRolePolicy", "scaleOnRequests", "logGroup"} <= set(child_keys.used)
    assert child_keys.undocumented(ContainerServiceArgs) == []


def test_task_policy_statements_may_be_or_hold_outputs():
    queue = pulumi.Output.from_input(QUEUE)
    whole = queue.apply(lambda arn: {"Effect": "Allow", "Action": ["sqs:ReceiveMessage"], "Resource": arn})
    graph = plan(
        build(task_policy_statements=[{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}, whole])
    )
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", name="app-task-policy").inputs["policy"])
    assert [s["Resource"] for s in policy["Statement"]] == [QUEUE, QUEUE]
    assert policy["Statement"][1]["Action"] == ["sqs:ReceiveMessage"]


def test_wildcard_in_an_output_statement_is_rejected():
    bad = pulumi.Output.from_input(QUEUE).apply(lambda arn: {"Effect": "Allow", "Action": "sqs:*", "Resource": arn})
    with pytest.raises(ValueError, match=r"task_policy_statements\[0\]: wildcard action 'sqs:\*'"):
        plan(build(task_policy_statements=[bad]))
