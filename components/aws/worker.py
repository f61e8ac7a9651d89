"""Worker: the app image's job worker (``python -m app.worker``) as its own ECS service, scaled on
the queue's backlog per running task.

It runs in the API's cluster, as the API's roles (which hold the queue grant), behind the API's
security group (no ingress is needed, and that group admits only the load balancer), and logs
to the API's log group under its own stream prefix. It has no load balancer: its health check is
its metrics endpoint, where it also exports ``ai_queue_depth``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.container_service import (
    container_definition,
    fargate_service_args,
    fargate_task_args,
    service_scaling_args,
)
from components.aws.policy_documents import aws_context
from components.base import Block, BlockArgs

WORKER_COMMAND = ("python", "-m", "app.worker")


@dataclass(kw_only=True)
class WorkerArgs(BlockArgs):
    """Inputs of :class:`Worker`.

    Child keys for ``transform``: ``taskDefinition``, ``service``, ``scalingTarget``, ``scaleOnBacklog``.
    """

    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    """A role holding the queue's consume grant (``Queue.grant_consume``)."""
    role_policies: Sequence[pulumi.Resource] = ()
    """The roles' policies: the task definition and service wait for them."""
    log_group_name: pulumi.Input[str]
    image: pulumi.Input[str]
    queue_name: pulumi.Input[str]
    """The SQS queue whose visible messages drive the scaling."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    cpu: int = 512
    memory: int = 1024
    min_replicas: int = 1
    """One worker always up, so a job starts within seconds (scaling from zero waits for an alarm)."""
    max_replicas: int = 10
    backlog_per_replica: int = 16
    """Target visible messages per running worker (about twice ``APP_WORKER_CONCURRENCY``)."""
    metrics_port: int = 9100
    user: str = "10001:10001"
    stop_timeout_seconds: int = 120
    """SIGTERM drains running jobs for ``APP_GRACEFUL_SHUTDOWN_S`` (30 s) before ECS stops the task."""


def _validate(args: WorkerArgs) -> None:
    if not 1 <= args.min_replicas <= args.max_replicas <= 1000:
        raise ValueError(
            f"WorkerArgs.min_replicas={args.min_replicas}, max_replicas={args.max_replicas}: "
            "need 1 <= min_replicas <= max_replicas <= 1000"
        )
    if args.backlog_per_replica < 1:
        raise ValueError(f"WorkerArgs.backlog_per_replica={args.backlog_per_replica}: must be >= 1")
    if not 1 <= args.metrics_port <= 65535:
        raise ValueError(f"WorkerArgs.metrics_port={args.metrics_port}: must be 1-65535 (the health check reads it)")
    if not 2 <= args.stop_timeout_seconds <= 120:
        raise ValueError(f"WorkerArgs.stop_timeout_seconds={args.stop_timeout_seconds}: Fargate allows 2-120")


class Worker(Block):
    """The job worker: same image, command ``python -m app.worker``, scaled on queue backlog."""

    service_name: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]

    def __init__(self, name: str, args: WorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:aws:Worker", name, args, opts)
        region = aws_context(self).apply(lambda c: c.region)
        environment = {**args.environment, "APP_WORKER_METRICS_PORT": str(args.metrics_port)}
        health = [
            "CMD",
            "python",
            "-c",
            f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{args.metrics_port}/metrics', timeout=4)",
        ]
        waits = pulumi.ResourceOptions(depends_on=list(args.role_policies))
        task_definition = self.child(
            "taskDefinition",
            aws.ecs.TaskDefinition,
            fargate_task_args(
                name,
                cpu=args.cpu,
                memory=args.memory,
                cpu_architecture="X86_64",
                execution_role_arn=args.execution_role_arn,
                task_role_arn=args.task_role_arn,
                container_definitions=pulumi.Output.all(
                    image=args.image,
                    environment=environment,
                    secrets=dict(args.secrets),
                    log_group=args.log_group_name,
                    region=region,
                ).apply(
                    lambda v: container_definition(
                        image=v["image"],
                        user=args.user,
                        environment=v["environment"],
                        secrets=v["secrets"],
                        log_group=v["log_group"],
                        region=v["region"],
                        health_check=health,
                        stop_timeout_seconds=args.stop_timeout_seconds,
                        command=WORKER_COMMAND,
                        stream_prefix="worker",
                    )
                ),
            ),
            waits,
            name="task",
        )
        service = self.child(
            "service",
            aws.ecs.Service,
            fargate_service_args(
                cluster_arn=args.cluster_arn,
                task_definition_arn=task_definition.arn,
                desired_count=args.min_replicas,
                subnet_ids=args.subnet_ids,
                security_group_id=args.security_group_id,
            ),
            pulumi.ResourceOptions(ignore_changes=["desiredCount"], depends_on=list(args.role_policies)),
        )
        target = self.child(
            "scalingTarget",
            aws.appautoscaling.Target,
            service_scaling_args(args.cluster_name, service.name, args.min_replicas, args.max_replicas),
            name="scaling-target",
        )
        self.child(
            "scaleOnBacklog",
            aws.appautoscaling.Policy,
            aws.appautoscaling.PolicyArgs(
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=_backlog_tracking(
                    args.queue_name, args.cluster_name, service.name, args.backlog_per_replica
                ),
            ),
            name="scale-backlog",
        )
        self.service_name = service.name
        self.task_definition_arn = task_definition.arn
        self.register_outputs({"serviceName": service.name, "taskDefinitionArn": task_definition.arn})


def _backlog_tracking(
    queue_name: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    service_name: pulumi.Input[str],
    backlog_per_replica: int,
) -> aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs:
    """Target tracking on backlog per task (AWS's recommended queue metric): visible messages
    divided by the running tasks (Container Insights), at least one so an idle service still
    sees its backlog."""
    spec = aws.appautoscaling

    def stat(metric_id: str, namespace: str, metric: str, dimensions: dict[str, pulumi.Input[str]], how: str):
        return spec.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs(
            id=metric_id,
            return_data=False,
            metric_stat=spec.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatArgs(
                stat=how,
                metric=spec.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs(
                    namespace=namespace,
                    metric_name=metric,
                    dimensions=[
                        spec.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs(
                            name=key, value=value
                        )
                        for key, value in dimensions.items()
                    ],
                ),
            ),
        )

    return spec.PolicyTargetTrackingScalingPolicyConfigurationArgs(
        target_value=float(backlog_per_replica),
        scale_out_cooldown=60,
        scale_in_cooldown=300,  # scale in slowly: a draining worker finishes its jobs first
        customized_metric_specification=spec.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs(
            metrics=[
                stat("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Sum"),
                stat(
                    "tasks",
                    "ECS/ContainerInsights",
                    "RunningTaskCount",
                    {"ClusterName": cluster_name, "ServiceName": service_name},
                    "Average",
                ),
                spec.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs(
                    id="backlog",
                    expression="visible / IF(tasks > 0, tasks, 1)",
                    label="visible messages per running worker",
                    return_data=True,
                ),
            ]
        ),
    )
