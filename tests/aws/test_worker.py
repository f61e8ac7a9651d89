"""Worker: the app image's job worker as its own ECS service, scaled on queue backlog per task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from ai_platform_cli.main import load_stack, plan_stack
from components.aws.worker import Worker, WorkerArgs
from components.testing import plan
from tests.stackconfig import SECRETS, baseline

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64


def _args(**changes) -> WorkerArgs:
    values: dict[str, Any] = dict(
        cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/c",
        cluster_name="c",
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_id="sg-1",
        execution_role_arn="arn:aws:iam::123456789012:role/exec",
        task_role_arn="arn:aws:iam::123456789012:role/task",
        log_group_name="/app",
        image=IMAGE,
        queue_name="jobs-queue",
        environment={"APP_QUEUE_BACKEND": "sqs"},
    )
    values.update(changes)
    return WorkerArgs(**values)


def test_the_worker_runs_the_app_image_with_the_worker_command_and_no_port() -> None:
    graph = plan(lambda: Worker("w", _args()))
    (container,) = json.loads(graph.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    assert container["command"] == ["python", "-m", "app.worker"]
    assert container["image"] == IMAGE and container["portMappings"] == []
    assert "9100/metrics" in container["healthCheck"]["command"][-1]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment == {"APP_QUEUE_BACKEND": "sqs", "APP_WORKER_METRICS_PORT": "9100"}
    assert container["readonlyRootFilesystem"] is True and container["user"] == "10001:10001"
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "worker"
    service = graph.one("aws:ecs/service:Service")
    assert "loadBalancers" not in service.inputs
    assert service.inputs["networkConfiguration"]["assignPublicIp"] is False


def test_it_scales_on_visible_messages_per_running_task() -> None:
    graph = plan(lambda: Worker("w", _args(min_replicas=2, max_replicas=7, backlog_per_replica=20)))
    target = graph.one("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 7)
    config = graph.one("aws:appautoscaling/policy:Policy").inputs["targetTrackingScalingPolicyConfiguration"]
    assert config["targetValue"] == 20
    metrics = {m["id"]: m for m in config["customizedMetricSpecification"]["metrics"]}
    assert metrics["visible"]["metricStat"]["metric"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert metrics["visible"]["metricStat"]["metric"]["dimensions"] == [{"name": "QueueName", "value": "jobs-queue"}]
    assert metrics["tasks"]["metricStat"]["metric"]["namespace"] == "ECS/ContainerInsights"
    assert metrics["backlog"]["expression"] == "visible / IF(tasks > 0, tasks, 1)"
    assert [m["id"] for m in metrics.values() if m.get("returnData")] == ["backlog"]


def test_task_definition_and_service_wait_for_the_role_policies() -> None:
    def program() -> None:
        policy = pulumi.CustomResource("aws:iam/rolePolicy:RolePolicy", "task-policy", {"role": "task"})
        Worker("w", _args(role_policies=[policy]))

    graph = plan(program)
    policy = graph.named("task-policy").urn
    assert policy in graph.one("aws:ecs/taskDefinition:TaskDefinition").dependencies
    assert policy in graph.one("aws:ecs/service:Service").dependencies


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"min_replicas": 3, "max_replicas": 2}, "need 1 <= min_replicas <= max_replicas"),
        ({"backlog_per_replica": 0}, "backlog_per_replica=0"),
        ({"metrics_port": 0}, "metrics_port=0"),
        ({"stop_timeout_seconds": 121}, "Fargate allows 2-120"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_registered(changes: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        plan(lambda: Worker("w", _args(**changes)))


def test_the_platform_runs_a_worker_beside_the_api_with_the_same_settings() -> None:
    graph = plan_stack(load_stack(ROOT, "aws-prod"))
    api, worker = (
        json.loads(graph.named(name).inputs["containerDefinitions"])[0]
        for name in ("ai-platform-service-task", "ai-platform-worker-task")
    )
    api_env = {e["name"]: e["value"] for e in api["environment"]}
    worker_env = {e["name"]: e["value"] for e in worker["environment"]}
    assert worker_env == {**api_env, "APP_WORKER_METRICS_PORT": "9100"}
    assert api_env["APP_QUEUE_BACKEND"] == "sqs" and api_env["APP_JOB_MAX_ATTEMPTS"] == "5"
    assert api["secrets"] == worker["secrets"]
    target = next(t for t in graph.of_type("aws:appautoscaling/target:Target") if "worker" in t.name)
    assert target.inputs["minCapacity"] == 2  # prod: HA


def test_no_queue_no_worker() -> None:
    from components.program import run

    config = baseline("dev")
    config["ai-platform:queue"] = {"enabled": False}
    graph = plan(run, stack="test", config=config, secret_keys=[k for k in config if k in SECRETS])
    assert graph.of_type("ai-platform:aws:Worker") == []
    (container,) = json.loads(graph.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    assert not any(e["name"].startswith("APP_QUEUE") for e in container["environment"])
