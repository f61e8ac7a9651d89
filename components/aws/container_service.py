"""ContainerService: the app on ECS Fargate in private subnets behind the ALB, autoscaled."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components import validation
from components.aws.iam import service_role
from components.aws.logs import log_group
from components.aws.policy_documents import aws_context, document, read_secrets_statement, service_assume_role_policy
from components.base import Block, BlockArgs

#: Fargate's valid task sizes: cpu units -> allowed memory (MiB).
#: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

CONTAINER_NAME = "app"
SECRET_REF = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(:[^:]*:[^:]*:[^:]*)?$"
)
_USER = re.compile(r"^[0-9]+(:[0-9]+)?$")
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<repo>[a-z0-9._/-]+)[@:]"
)
_FORBIDDEN_ACTION = re.compile(r"^(\*|[a-z0-9-]+:\*)$")


@dataclass(kw_only=True)
class ContainerServiceArgs(BlockArgs):
    """Inputs of :class:`ContainerService`.

    Child keys for ``transform``: ``cluster``, ``logGroup``, ``executionRole``,
    ``executionRolePolicy``, ``taskRole``, ``taskRolePolicy``, ``securityGroup``, ``ingressFromAlb``,
    ``egressHttps``, ``egressVpc``, ``taskDefinition``, ``service``, ``scalingTarget``,
    ``scaleOnCpu``, ``scaleOnRequests``.
    """

    vpc_id: pulumi.Input[str]
    """VPC of the service's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets; tasks never get a public IP."""
    load_balancer_security_group_id: pulumi.Input[str]
    """The ALB's security group: the only source allowed to reach the tasks."""
    target_group_arn: pulumi.Input[str]
    """The load balancer's target group the service registers its tasks in."""
    listener_arn: pulumi.Input[str]
    """The listener forwarding to ``target_group_arn`` (the HTTPS one): the service is created after
    it, as ECS rejects a target group that no listener forwards to."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """ARN suffix of the load balancer (the request-count scaling metric's dimension)."""
    target_group_arn_suffix: pulumi.Input[str]
    """With ``load_balancer_arn_suffix``: the ``ALBRequestCountPerTarget`` resource label."""
    image: pulumi.Input[str]
    """Image reference pinned by digest (``repo@sha256:...``), so every task runs the same bits."""
    vpc_cidr_block: pulumi.Input[str] | None = None
    """CIDR the tasks may reach on any port (data stores); ``None`` looks it up from ``vpc_id``."""
    cpu: int = 1024
    """Fargate CPU units (1 vCPU): the app is I/O bound (LLM calls), one vCPU serves many streams.
    1 vCPU + 2 GiB costs ~36 USD/month per always-on task (us-east-1, x86)."""
    memory: int = 2048
    """MiB; must be a valid Fargate combination with ``cpu`` (2 GiB as the seeds' k8s limit)."""
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"
    """Must match the image platform (the registry builds linux/amd64)."""
    port: int = 8000
    min_replicas: int = 2
    """Two tasks so one AZ or one deployment never takes the API down."""
    max_replicas: int = 10
    cpu_target_percent: int = 70
    """Target-tracking CPU utilisation (the seeds' 70 %)."""
    requests_per_target: int = 1000
    """Target-tracking ALB requests per task per minute."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain, non-secret environment values; secret-looking names are rejected (use ``secrets``)."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Env var -> Secrets Manager ARN (or ``ARN:json-key::``), injected by ECS at start."""
    secret_arns: Sequence[pulumi.Input[str]] = ()
    """Secrets the execution role may read (``GetSecretValue`` on exactly these)."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of the secrets (decrypt via Secrets Manager only) and the log group."""
    log_retention_days: int = 30
    task_policy_statements: Sequence[pulumi.Input[Mapping[str, Any]]] = ()
    """Extra least-privilege statements for the task role (the app's own AWS calls), e.g.
    ``{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": queue_arn}``; wildcard
    actions (``*``, ``service:*``) are rejected."""
    health_check_path: str = "/health"
    """Liveness path for the container health check (the target group checks ``/ready``)."""
    health_check_command: Sequence[str] | None = None
    """Override of the container health check command; ``None`` runs a Python one-liner against
    ``health_check_path`` (the app image has Python, not curl)."""
    user: str = "10001:10001"
    """Non-root uid:gid the container runs as."""
    stop_timeout_seconds: int = 120
    """Grace between SIGTERM and SIGKILL so streams can finish (Fargate maximum: 120)."""
    health_check_grace_period_seconds: int = 60
    container_insights: Literal["enabled", "enhanced"] = "enabled"
    """Container Insights metrics (a few USD/month per service as custom metrics + log ingestion);
    ``enhanced`` adds task/container-level metrics at extra CloudWatch cost."""


def _validate(args: ContainerServiceArgs) -> None:
    allowed_memory = FARGATE_SIZES.get(args.cpu)
    if allowed_memory is None:
        raise ValueError(f"ContainerServiceArgs.cpu={args.cpu}: Fargate accepts {sorted(FARGATE_SIZES)}")
    if args.memory not in allowed_memory:
        raise ValueError(
            f"ContainerServiceArgs.memory={args.memory} is not valid with cpu={args.cpu} on Fargate; "
            f"allowed: {allowed_memory[0]}-{allowed_memory[-1]} MiB in the steps {list(allowed_memory)}"
        )
    if not 1 <= args.port <= 65535:
        raise ValueError(f"ContainerServiceArgs.port={args.port}: must be 1-65535")
    if not 1 <= args.min_replicas <= args.max_replicas:
        raise ValueError(
            f"ContainerServiceArgs: need 1 <= min_replicas ({args.min_replicas}) <= max_replicas ({args.max_replicas})"
        )
    if not 1 <= args.cpu_target_percent <= 100:
        raise ValueError(f"ContainerServiceArgs.cpu_target_percent={args.cpu_target_percent}: must be 1-100")
    if args.requests_per_target < 1:
        raise ValueError(f"ContainerServiceArgs.requests_per_target={args.requests_per_target}: must be >= 1")
    if args.cpu_architecture not in ("X86_64", "ARM64"):
        raise ValueError(f"ContainerServiceArgs.cpu_architecture={args.cpu_architecture!r}: 'X86_64' or 'ARM64'")
    if args.container_insights not in ("enabled", "enhanced"):
        raise ValueError(
            f"ContainerServiceArgs.container_insights={args.container_insights!r}: 'enabled' or 'enhanced'"
        )
    if not _USER.match(args.user) or args.user.split(":")[0] == "0":
        raise ValueError(f"ContainerServiceArgs.user={args.user!r}: give a non-root numeric 'uid:gid'")
    if not 2 <= args.stop_timeout_seconds <= 120:
        raise ValueError(f"ContainerServiceArgs.stop_timeout_seconds={args.stop_timeout_seconds}: Fargate allows 2-120")
    if isinstance(args.subnet_ids, (list, tuple)) and not args.subnet_ids:
        raise ValueError("ContainerServiceArgs.subnet_ids is empty: give the private subnets")
    if not args.health_check_path.startswith("/"):
        raise ValueError(f"ContainerServiceArgs.health_check_path={args.health_check_path!r}: must start with '/'")
    if isinstance(args.image, str):
        _check_image(args.image)
    for key in args.environment:
        problem = validation.plain_env_var(key)
        if problem:
            hint = "; put it in Secrets Manager and pass it in `secrets`" if validation.looks_secret(key) else ""
            raise ValueError(f"ContainerServiceArgs.environment[{key!r}]: {problem}{hint}")
    for key in args.secrets:
        problem = validation.env_var_name(key)
        if problem:
            raise ValueError(f"ContainerServiceArgs.secrets[{key!r}]: {problem}")
    problem = validation.overlapping_env(args.environment, args.secrets)
    if problem:
        raise ValueError(f"ContainerServiceArgs: {problem}")
    for key, ref in args.secrets.items():
        if isinstance(ref, str) and not SECRET_REF.match(ref):
            raise ValueError(
                f"ContainerServiceArgs.secrets[{key!r}]={ref!r} is not a Secrets Manager ARN (optionally ':json-key::')"
            )
    if args.secrets and not args.secret_arns:
        raise ValueError("ContainerServiceArgs.secret_arns is empty but secrets are referenced: list the secret ARNs")
    for i, statement in enumerate(args.task_policy_statements):
        if isinstance(statement, Mapping):
            check_statement(f"ContainerServiceArgs.task_policy_statements[{i}]", statement)


def _check_image(image: str) -> None:
    if "@sha256:" not in image or not re.search(r"@sha256:[0-9a-f]{64}$", image):
        raise ValueError(f"ContainerServiceArgs.image={image!r} is not pinned by digest ('repo@sha256:<64 hex>')")


def check_statement(where: str, statement: Mapping[str, Any]) -> None:
    """A least-privilege statement of the app's own permissions (``where`` names the argument)."""
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise ValueError(f"{where}: Effect must be 'Allow' or 'Deny'")
    if "Resource" not in statement:
        raise ValueError(f"{where}: give the Resource(s) the statement applies to")
    actions = statement.get("Action")
    if actions is None:
        raise ValueError(f"{where}: give Action")
    for action in [actions] if isinstance(actions, str) else list(actions):
        if isinstance(action, str) and _FORBIDDEN_ACTION.match(action):
            raise ValueError(f"{where}: wildcard action {action!r} is not least privilege; list the actions")


def _checked_document(statements: list[Mapping[str, Any]]) -> str:
    """The task policy; statements that were Outputs are checked here, once resolved."""
    for i, statement in enumerate(statements):
        check_statement(f"ContainerServiceArgs.task_policy_statements[{i}]", statement)
    return document([dict(s) for s in statements])


def secret_arn_of(reference: str) -> str:
    """The secret ARN of a ``valueFrom`` reference (strips ``:json-key:version-stage:version-id``)."""
    return ":".join(reference.split(":")[:7])


class ContainerService(Block):
    """ECS Fargate service for the app: tasks in private subnets with no public IP, reachable only
    from the ALB, non-root with a read-only root filesystem, secrets injected as ECS ``secrets``,
    deployments guarded by the circuit breaker (with rollback), scaled on CPU and ALB requests per
    target. ECS Exec is off."""

    cluster_name: pulumi.Output[str]
    """Name of the ECS cluster."""
    cluster_arn: pulumi.Output[str]
    """ARN of the ECS cluster."""
    service_name: pulumi.Output[str]
    """Name of the ECS service."""
    security_group_id: pulumi.Output[str]
    """The tasks' security group (ingress only from the load balancer)."""
    task_role_arn: pulumi.Output[str]
    """ARN of the role the app's code runs as (its grants: queue, database, models)."""
    task_role_name: pulumi.Output[str]
    """Name of the task role."""
    execution_role_arn: pulumi.Output[str]
    """ARN of the role ECS uses to pull the image, read the secrets and write logs."""
    log_group_name: pulumi.Output[str]
    """CloudWatch log group of the containers (KMS-encrypted)."""
    task_definition_arn: pulumi.Output[str]
    """ARN of the current task definition revision."""

    def __init__(self, name: str, args: ContainerServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:aws:ContainerService", name, args, opts)
        invoke = pulumi.InvokeOptions(parent=self)
        context = aws_context(self)
        region = context.apply(lambda c: c.region)
        account_id = context.apply(lambda c: c.account_id)
        partition = context.apply(lambda c: c.partition)
        vpc_cidr = (
            pulumi.Output.from_input(args.vpc_cidr_block)
            if args.vpc_cidr_block is not None
            else aws.ec2.get_vpc_output(id=args.vpc_id, opts=invoke).cidr_block
        )

        cluster = self.child(
            "cluster",
            aws.ecs.Cluster,
            aws.ecs.ClusterArgs(
                settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=args.container_insights)]
            ),
        )
        logs = log_group(
            self, "logGroup", retention_days=args.log_retention_days, kms_key_arn=args.kms_key_arn, name="logs"
        )

        execution = service_role(
            self,
            "executionRole",
            name="execution",
            trust_policy=account_id.apply(
                lambda account: service_assume_role_policy("ecs-tasks.amazonaws.com", account)
            ),
            description="ECS agent: pull the image, write logs, read the task's secrets",
            policy=pulumi.Output.all(
                image=args.image,
                log_group_arn=logs.arn,
                partition=partition,
                region=region,
                secret_arns=list(args.secret_arns),
                secrets=dict(args.secrets),
                kms_key_arn=args.kms_key_arn,
            ).apply(lambda v: _execution_policy(**v)),
        )
        task = service_role(
            self,
            "taskRole",
            name="task",
            trust_policy=pulumi.Output.all(account_id, partition, region).apply(
                lambda v: service_assume_role_policy(
                    "ecs-tasks.amazonaws.com", v[0], source_arn_like=f"arn:{v[1]}:ecs:{v[2]}:{v[0]}:*"
                )
            ),
            description="The app's own AWS permissions",
            policy=pulumi.Output.all(*args.task_policy_statements).apply(_checked_document)
            if args.task_policy_statements
            else None,
        )

        role_policies = [*execution.policies, *task.policies]

        sg = self.child(
            "securityGroup",
            aws.ec2.SecurityGroup,
            aws.ec2.SecurityGroupArgs(
                vpc_id=args.vpc_id,
                description="App tasks: in from the ALB on the app port only; out HTTPS and the VPC",
            ),
            name="tasks-sg",
        )
        self.child(
            "ingressFromAlb",
            aws.vpc.SecurityGroupIngressRule,
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=sg.id,
                referenced_security_group_id=args.load_balancer_security_group_id,
                ip_protocol="tcp",
                from_port=args.port,
                to_port=args.port,
                description="App port from the ALB only",
            ),
            name="tasks-from-alb",
        )
        app_egress(self, sg.id, vpc_cidr, "tasks")

        task_definition = self.child(
            "taskDefinition",
            aws.ecs.TaskDefinition,
            fargate_task_args(
                name,
                cpu=args.cpu,
                memory=args.memory,
                cpu_architecture=args.cpu_architecture,
                execution_role_arn=execution.role.arn,
                task_role_arn=task.role.arn,
                container_definitions=pulumi.Output.all(
                    image=args.image,
                    environment=dict(args.environment),
                    secrets=dict(args.secrets),
                    log_group=logs.name,
                    region=region,
                ).apply(lambda v: _container_definitions(args, **v)),
            ),
            # a task started before its roles' policies exist cannot pull its image or read its secrets
            pulumi.ResourceOptions(depends_on=role_policies),
            name="task",
        )

        service = self.child(
            "service",
            aws.ecs.Service,
            fargate_service_args(
                cluster_arn=cluster.arn,
                task_definition_arn=task_definition.arn,
                desired_count=args.min_replicas,
                subnet_ids=args.subnet_ids,
                security_group_id=sg.id,
                load_balancers=[
                    aws.ecs.ServiceLoadBalancerArgs(
                        # carries the listener as a dependency: ECS rejects a target group that no
                        # load balancer listener forwards to yet (the HTTPS one waits for ACM)
                        target_group_arn=pulumi.Output.all(args.target_group_arn, args.listener_arn).apply(
                            lambda v: v[0]
                        ),
                        container_name=CONTAINER_NAME,
                        container_port=args.port,
                    )
                ],
                health_check_grace_period_seconds=args.health_check_grace_period_seconds,
            ),
            # the autoscaler owns the running count after creation
            pulumi.ResourceOptions(ignore_changes=["desiredCount"], depends_on=role_policies),
        )

        target = self.child(
            "scalingTarget",
            aws.appautoscaling.Target,
            service_scaling_args(cluster.name, service.name, args.min_replicas, args.max_replicas),
            name="scaling-target",
        )
        scaling = [
            ("scaleOnCpu", "scale-cpu", "ECSServiceAverageCPUUtilization", args.cpu_target_percent, None),
            (
                "scaleOnRequests",
                "scale-requests",
                "ALBRequestCountPerTarget",
                args.requests_per_target,
                pulumi.Output.concat(args.load_balancer_arn_suffix, "/", args.target_group_arn_suffix),
            ),
        ]
        for key, child_name, metric, target_value, label in scaling:
            self.child(
                key,
                aws.appautoscaling.Policy,
                aws.appautoscaling.PolicyArgs(
                    policy_type="TargetTrackingScaling",
                    service_namespace=target.service_namespace,
                    scalable_dimension=target.scalable_dimension,
                    resource_id=target.resource_id,
                    target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                        target_value=float(target_value),
                        predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                            predefined_metric_type=metric, resource_label=label
                        ),
                        scale_out_cooldown=60,
                        scale_in_cooldown=300,  # scale in slowly: streams in flight end with their task
                    ),
                ),
                name=child_name,
            )

        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.service_name = service.name
        self.security_group_id = sg.id
        self.task_role_arn = task.role.arn
        self.task_role_name = task.role.name
        self.execution_role_arn = execution.role.arn
        self.log_group_name = logs.name
        self.task_definition_arn = task_definition.arn
        self.role_policies = role_policies
        """The roles' policies: whatever else runs as these roles (the worker) waits for them."""
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "serviceName": self.service_name,
                "securityGroupId": self.security_group_id,
                "taskRoleArn": self.task_role_arn,
                "executionRoleArn": self.execution_role_arn,
                "logGroupName": self.log_group_name,
            }
        )


def app_egress(block: Block, security_group_id: pulumi.Input[str], vpc_cidr: pulumi.Input[str], prefix: str) -> None:
    """The app's way out, on either runtime (child keys ``egressHttps``, ``egressVpc``): HTTPS
    anywhere (LLM providers through NAT, AWS APIs through endpoints) and anything in the VPC."""
    block.child(
        "egressHttps",
        aws.vpc.SecurityGroupEgressRule,
        aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=security_group_id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS out: LLM provider APIs via NAT, AWS APIs via endpoints",
        ),
        name=f"{prefix}-https-out",
    )
    block.child(
        "egressVpc",
        aws.vpc.SecurityGroupEgressRule,
        aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=security_group_id,
            cidr_ipv4=vpc_cidr,
            ip_protocol="-1",
            description="Anything inside the VPC: Redis, PostgreSQL (their own SGs admit only this SG)",
        ),
        name=f"{prefix}-vpc-out",
    )


def fargate_task_args(
    name: str,
    *,
    cpu: int,
    memory: int,
    cpu_architecture: str,
    execution_role_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str],
    container_definitions: pulumi.Input[str],
) -> aws.ecs.TaskDefinitionArgs:
    """A Fargate task definition of the app image (API and worker): awsvpc, Linux, scratch /tmp."""
    return aws.ecs.TaskDefinitionArgs(
        family=re.sub(r"[^A-Za-z0-9_-]", "-", name)[:255],
        cpu=str(cpu),
        memory=str(memory),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture=cpu_architecture
        ),
        execution_role_arn=execution_role_arn,
        task_role_arn=task_role_arn,
        # Fargate bind-mount volume without a host path: task-scoped scratch space, gone with the task.
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
        container_definitions=container_definitions,
    )


def fargate_service_args(
    *,
    cluster_arn: pulumi.Input[str],
    task_definition_arn: pulumi.Input[str],
    desired_count: int,
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_id: pulumi.Input[str],
    **extra: Any,
) -> aws.ecs.ServiceArgs:
    """A Fargate service in private subnets without public IPs, rolled out with the circuit breaker
    and rollback, never shrinking below its count during a deployment (API and worker)."""
    return aws.ecs.ServiceArgs(
        cluster=cluster_arn,
        task_definition=task_definition_arn,
        desired_count=desired_count,
        launch_type="FARGATE",
        platform_version="LATEST",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=subnet_ids, security_groups=[security_group_id], assign_public_ip=False
        ),
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=200,
        enable_execute_command=False,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        availability_zone_rebalancing="ENABLED",
        **extra,
    )


def service_scaling_args(
    cluster_name: pulumi.Input[str], service_name: pulumi.Input[str], min_replicas: int, max_replicas: int
) -> aws.appautoscaling.TargetArgs:
    """The Application Auto Scaling target of an ECS service's desired count."""
    return aws.appautoscaling.TargetArgs(
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster_name, "/", service_name),
        min_capacity=min_replicas,
        max_capacity=max_replicas,
    )


def _health_check_command(args: ContainerServiceArgs) -> list[str]:
    if args.health_check_command is not None:
        return list(args.health_check_command)
    url = f"http://127.0.0.1:{args.port}{args.health_check_path}"
    return ["CMD", "python", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"]


def _container_definitions(
    args: ContainerServiceArgs,
    *,
    image: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    log_group: str,
    region: str,
) -> str:
    return container_definition(
        image=image,
        user=args.user,
        environment=environment,
        secrets=secrets,
        log_group=log_group,
        region=region,
        health_check=_health_check_command(args),
        stop_timeout_seconds=args.stop_timeout_seconds,
        port=args.port,
    )


def container_definition(
    *,
    image: str,
    user: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    log_group: str,
    region: str,
    health_check: Sequence[str],
    stop_timeout_seconds: int,
    port: int | None = None,
    command: Sequence[str] | None = None,
    stream_prefix: str = CONTAINER_NAME,
) -> str:
    """The hardened container definition every task of the app image runs with (API and worker):
    non-root, read-only root, all capabilities dropped, secrets only as references."""
    _check_image(image)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "user": user,
        "readonlyRootFilesystem": True,
        "privileged": False,
        "portMappings": []
        if port is None
        else [{"containerPort": port, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
        "environment": [{"name": k, "value": environment[k]} for k in sorted(environment)],
        "secrets": [{"name": k, "valueFrom": secrets[k]} for k in sorted(secrets)],
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "healthCheck": {
            "command": list(health_check),
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        },
        "stopTimeout": stop_timeout_seconds,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": stream_prefix,
                "mode": "non-blocking",  # a slow log pipeline must not stall request handling
                "max-buffer-size": "25m",
            },
        },
    }
    if command is not None:
        container["command"] = list(command)
    return json.dumps([container])


def _execution_policy(
    *,
    image: str,
    log_group_arn: str,
    partition: str,
    region: str,
    secret_arns: Sequence[str],
    secrets: Mapping[str, str],
    kms_key_arn: str | None,
) -> str:
    """Least privilege for the ECS agent: pull this image's repository, write this log group,
    read exactly ``secret_arns`` (and decrypt them through Secrets Manager only)."""
    unknown = sorted(k for k, ref in secrets.items() if secret_arn_of(ref) not in set(secret_arns))
    if unknown:
        raise ValueError(
            f"ContainerServiceArgs.secrets {unknown} reference secrets missing from secret_arns; "
            "the execution role could not read them"
        )
    statements: list[Mapping[str, Any]] = [
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        }
    ]
    ecr = _ECR_IMAGE.match(image)
    if ecr is not None:
        repository = f"arn:{partition}:ecr:{ecr['region']}:{ecr['account']}:repository/{ecr['repo']}"
        statements += [
            {
                # GetAuthorizationToken has no resource-level permissions: AWS requires "*" here.
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "PullImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": repository,
            },
        ]
    if secret_arns:
        statements.append(read_secrets_statement(secret_arns))
        if kms_key_arn:
            statements.append(
                {
                    "Sid": "DecryptSecrets",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": kms_key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
                }
            )
    return document(statements)
