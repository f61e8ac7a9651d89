"""AiPlatform (AWS): the whole reference architecture composed from the building blocks.

Wiring only: the tags, policy facts, environment defaults and the app's settings come from the
shared decisions (components.decisions, components.spec); this file connects AWS blocks.

Order matters only where one block needs another's outputs: the KMS key and secrets come
first (everything encrypts with the key), then the network, registry and gateway, the data
stores, the container service, and last the data stores' ingress from the service's
security group (``allow_from``: breaks the cycle service <-> data store) and observability.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from components.aws.cache import Cache, CacheArgs
from components.aws.container_service import ContainerService, ContainerServiceArgs
from components.aws.function import Function, FunctionArgs
from components.aws.gateway import Gateway, GatewayArgs
from components.aws.network import Network, NetworkArgs
from components.aws.observability import LambdaMetrics, Observability, ObservabilityArgs
from components.aws.policy_documents import partition_of_region
from components.aws.queue import Queue, QueueArgs
from components.aws.registry import Registry, RegistryArgs
from components.aws.rest_api import MAX_INTEGRATION_TIMEOUT_MS, RestApi, RestApiArgs
from components.aws.secrets import SecretStore, SecretStoreArgs
from components.aws.spec import AwsSpec
from components.aws.vector_store import VectorStore, VectorStoreArgs
from components.aws.worker import Worker, WorkerArgs
from components.base import PlatformBlock
from components.decisions import (
    APP_DB_USER,
    CacheEndpoint,
    DatabaseEndpoint,
    QueueEndpoint,
    app_environment,
    secret_references,
)
from components.spec import PlatformSpec


class AiPlatform(PlatformBlock):
    """The production AI API on AWS, as the stack's :class:`PlatformSpec` describes it."""

    def __init__(
        self,
        name: str,
        spec: PlatformSpec,
        secrets: Mapping[str, pulumi.Input[str]],
        *,
        project_root: Path,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, opts)
        stack, tags = self.stack, self.tags
        aws_spec = spec.section(AwsSpec)
        child = pulumi.ResourceOptions(parent=self)
        protect = spec.protect_stateful

        self.secret_store = SecretStore(
            f"{name}-secrets",
            SecretStoreArgs(
                tags=tags, protect=protect, secrets=dict(secrets), recovery_window_days=spec.secret_recovery_days
            ),
            child,
        )
        kms_key_arn = self.secret_store.kms_key_arn

        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                tags=tags,
                cidr_block=spec.network.cidr,
                availability_zone_count=spec.zones,
                nat_gateways="per_az" if spec.nat_gateways == "perZone" else "single",
                flow_log_retention_days=spec.log_retention_days,
                kms_key_arn=kms_key_arn,
            ),
            child,
        )
        self.registry = Registry(
            f"{name}-registry",
            RegistryArgs(
                tags=tags,
                kms_key_arn=kms_key_arn,
                image_digest=spec.app.image.digest,
                context=str(project_root / (spec.app.image.build or "app")),
                dockerfile=str(project_root / (spec.app.image.build or "app") / "Dockerfile"),
            ),
            child,
        )
        serverless = aws_spec.app.runtime == "lambda"
        self.gateway: Gateway | None = None
        if not serverless:
            self.gateway = self._gateway(name, spec, aws_spec, child)

        # one output per private subnet (a known count: one per zone), for blocks that check it
        private_subnets = [self.network.private_subnet_ids.apply(lambda ids, i=i: ids[i]) for i in range(spec.zones)]
        task_statements: list[Any] = []

        self.cache: Cache | None = None
        if spec.cache.enabled:
            ha = spec.cache_high_availability
            self.cache = Cache(
                f"{name}-cache",
                CacheArgs(
                    tags=tags,
                    protect=protect,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=private_subnets,
                    auth_token=secrets[spec.cache.auth_token_key],
                    kms_key_arn=kms_key_arn,
                    node_type=aws_spec.cache_node_type,
                    num_cache_clusters=2 if ha else 1,
                    multi_az=ha,
                    snapshot_retention_days=spec.cache_snapshot_days,
                    log_retention_days=spec.log_retention_days,
                ),
                child,
            )

        self.vector_store: VectorStore | None = None
        if spec.vector_store.enabled:
            ha = spec.vector_high_availability
            self.vector_store = VectorStore(
                f"{name}-vectors",
                VectorStoreArgs(
                    tags=tags,
                    protect=protect,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=private_subnets,
                    kms_key_arn=kms_key_arn,
                    min_capacity=aws_spec.vector_min_capacity,
                    max_capacity=aws_spec.vector_max_capacity,
                    instance_count=2 if ha else 1,
                    availability_zones=self.network.availability_zones,
                    deletion_protection=spec.deletion_protection,
                    skip_final_snapshot=not spec.final_snapshot,
                    backup_retention_days=spec.backup_retention_days,
                    log_retention_days=spec.log_retention_days,
                    monitoring_interval_seconds=spec.database_monitoring_seconds,
                ),
                child,
            )
            task_statements.append(self.vector_store.grant_connect(APP_DB_USER))

        self.queue: Queue | None = None
        if spec.queue.enabled:
            self.queue = Queue(
                f"{name}-queue",
                QueueArgs(tags=tags, kms_key_arn=kms_key_arn, max_receive_count=spec.queue.max_receive_count),
                child,
            )
            task_statements.extend(self.queue.grant_consume())
        if aws_spec.bedrock:
            partition = partition_of_region(str(spec.region))
            task_statements.append(
                {
                    "Sid": "InvokeBedrockModels",
                    "Effect": "Allow",
                    "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                    "Resource": [f"arn:{partition}:bedrock:{spec.region}::foundation-model/*"],
                }
            )

        # the app contract: the same APP_* settings on every target, from this platform's endpoints
        contract = app_environment(
            spec,
            stack,
            cache=None
            if self.cache is None
            else CacheEndpoint(self.cache.primary_endpoint_address, self.cache.port, spec.cache.auth_token_key),
            database=None
            if self.vector_store is None
            else DatabaseEndpoint(
                self.vector_store.endpoint,
                self.vector_store.port,
                self.vector_store.database_name,
                auth="iam",
                region=spec.region,
            ),
            queue=None
            if self.queue is None
            else QueueEndpoint("sqs", self.queue.queue_url, dead_letter_url=self.queue.dead_letter_queue_url),
        )
        ecs_secrets = secret_references(contract, self.secret_store.secret_arns)
        self.service: ContainerService | None = None
        self.worker: Worker | None = None
        self.function: Function | None = None
        self.rest_api: RestApi | None = None
        if serverless:
            self.function, self.rest_api = self._serverless(
                name, spec, aws_spec, contract.environment, ecs_secrets, task_statements, kms_key_arn, child
            )
            compute_security_group = ("function", self.function.security_group_id)
        else:
            assert self.gateway is not None
            self.service, self.worker = self._containers(
                name, spec, self.gateway, contract.environment, ecs_secrets, task_statements, kms_key_arn, child
            )
            compute_security_group = ("service", self.service.security_group_id)
        for store in (self.cache, self.vector_store):
            if store is not None:
                store.allow_from(*compute_security_group)

        alerts = spec.observability.alerts
        self.observability = Observability(
            f"{name}-observability",
            ObservabilityArgs(
                tags=tags,
                kms_key_arn=kms_key_arn,
                alert_emails=list(spec.observability.alert_emails),
                **self._metrics(),
                cache_member_cluster_ids=self.cache.member_cluster_ids if self.cache else [],
                latency_p95_threshold_seconds=alerts.latency_p95_seconds,
                error_rate_threshold_percent=alerts.error_rate_percent,
                cpu_threshold_percent=alerts.cpu_percent,
                redis_memory_threshold_percent=alerts.redis_memory_percent,
                budget_monthly_usd=spec.budget.monthly_amount,
                budget_thresholds_percent=list(spec.budget.thresholds),
            ),
            child,
        )
        edge = self.rest_api or self.gateway
        assert edge is not None
        self.url = edge.url
        self.register_exports()

    def _metrics(self) -> dict[str, Any]:
        """What the alarms and the dashboard watch: the function and its REST API, or the ALB and ECS."""
        if self.function is not None and self.rest_api is not None:
            return {
                "function": LambdaMetrics(
                    function_name=self.function.function_name,
                    alias_name=self.function.alias_name,
                    api_name=self.rest_api.rest_api_name,
                    stage_name=self.rest_api.stage_name,
                )
            }
        assert self.gateway is not None and self.service is not None
        return {
            "load_balancer_arn_suffix": self.gateway.load_balancer_arn_suffix,
            "target_group_arn_suffix": self.gateway.target_group_arn_suffix,
            "cluster_name": self.service.cluster_name,
            "service_name": self.service.service_name,
        }

    def _edge(self, spec: PlatformSpec, aws_spec: AwsSpec) -> dict[str, Any]:
        """What either runtime's public edge (the ALB or the REST API) takes from the spec: the
        domain and its certificate, the WAF's settings and the edge's logs."""
        return {
            "domain": spec.gateway.domain,
            "certificate_arn": aws_spec.certificate_arn,
            "hosted_zone_id": aws_spec.hosted_zone_id,
            "waf_enabled": spec.waf_enabled,
            "waf_mode": "block" if spec.waf_mode == "block" else "count",
            "rate_limit_per_ip": spec.gateway.rate_limit_per_ip,
            "max_body_size_bytes": spec.gateway.max_body_bytes,
            "ip_allowlist": list(spec.gateway.ip_allowlist),
            "access_log_retention_days": spec.log_retention_days,
            "log_kms_key_arn": self.secret_store.kms_key_arn,
        }

    def _gateway(self, name: str, spec: PlatformSpec, aws_spec: AwsSpec, child: pulumi.ResourceOptions) -> Gateway:
        """The container runtime's edge: the ALB with its WAF."""
        return Gateway(
            f"{name}-gateway",
            GatewayArgs(
                tags=self.tags,
                **self._edge(spec, aws_spec),
                vpc_id=self.network.vpc_id,
                vpc_cidr_block=self.network.vpc_cidr_block,
                subnet_ids=self.network.public_subnet_ids,
                target_port=spec.app.port,
                health_check_path=spec.app.ready_path,
                deletion_protection=spec.deletion_protection,
                idle_timeout_seconds=spec.app.timeout_seconds,
            ),
            child,
        )

    def _containers(
        self,
        name: str,
        spec: PlatformSpec,
        gateway: Gateway,
        environment: Mapping[str, pulumi.Input[str]],
        ecs_secrets: Mapping[str, Any],
        task_statements: list[Any],
        kms_key_arn: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> tuple[ContainerService, Worker | None]:
        """The container runtime: the API on ECS Fargate behind the ALB, and the queue's worker."""
        tags = self.tags
        service = ContainerService(
            f"{name}-service",
            ContainerServiceArgs(
                tags=tags,
                vpc_id=self.network.vpc_id,
                vpc_cidr_block=self.network.vpc_cidr_block,
                subnet_ids=self.network.private_subnet_ids,
                load_balancer_security_group_id=gateway.security_group_id,
                target_group_arn=gateway.target_group_arn,
                listener_arn=gateway.https_listener_arn,
                load_balancer_arn_suffix=gateway.load_balancer_arn_suffix,
                target_group_arn_suffix=gateway.target_group_arn_suffix,
                image=self.registry.image_ref,
                cpu=int(spec.app.cpu * 1024),
                memory=spec.app.memory_mib,
                port=spec.app.port,
                min_replicas=spec.min_replicas,
                max_replicas=spec.app.max_replicas,
                cpu_target_percent=spec.app.scaling.cpu_percent,
                requests_per_target=spec.app.scaling.requests_per_minute,
                environment=environment,
                secrets=ecs_secrets,
                secret_arns=list(ecs_secrets.values()),
                kms_key_arn=kms_key_arn,
                log_retention_days=spec.log_retention_days,
                task_policy_statements=task_statements,
                health_check_path=spec.app.health_path,
            ),
            child,
        )
        if self.queue is None:
            return service, None
        worker = spec.queue.worker
        return service, Worker(
            f"{name}-worker",
            WorkerArgs(
                tags=tags,
                cluster_arn=service.cluster_arn,
                cluster_name=service.cluster_name,
                subnet_ids=self.network.private_subnet_ids,
                security_group_id=service.security_group_id,
                execution_role_arn=service.execution_role_arn,
                task_role_arn=service.task_role_arn,
                role_policies=service.role_policies,
                log_group_name=service.log_group_name,
                image=self.registry.image_ref,
                queue_name=self.queue.queue_name,
                environment=environment,
                secrets=ecs_secrets,
                min_replicas=spec.worker_min_replicas,
                max_replicas=worker.max_replicas,
                backlog_per_replica=worker.backlog_per_replica,
            ),
            child,
        )

    def _serverless(
        self,
        name: str,
        spec: PlatformSpec,
        aws_spec: AwsSpec,
        environment: Mapping[str, pulumi.Input[str]],
        secrets: Mapping[str, Any],
        statements: list[Any],
        kms_key_arn: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> tuple[Function, RestApi]:
        """The Lambda runtime: the same image as a function in the private subnets, behind a
        regional REST API with the ALB path's WAF rules; API Gateway may invoke only the alias."""
        settings = aws_spec.app.lambda_
        rest = aws_spec.rest_api
        integration_seconds = min(settings.timeout_seconds, MAX_INTEGRATION_TIMEOUT_MS // 1000)
        function = Function(
            f"{name}-function",
            FunctionArgs(
                tags=self.tags,
                vpc_id=self.network.vpc_id,
                vpc_cidr_block=self.network.vpc_cidr_block,
                subnet_ids=self.network.private_subnet_ids,
                image=self.registry.image_ref,
                memory_mib=settings.memory_mib,
                timeout_seconds=settings.timeout_seconds,
                reserved_concurrency=settings.reserved_concurrency,
                provisioned_concurrency=settings.provisioned_concurrency,
                environment={
                    **environment,
                    # the app answers (504) before API Gateway gives up on the integration
                    "APP_REQUEST_TIMEOUT_S": str(max(1, integration_seconds - 2)),
                    "APP_RESPONSE_STREAMING": "false",
                },
                secrets=secrets,
                kms_key_arn=kms_key_arn,
                log_retention_days=spec.log_retention_days,
                policy_statements=statements,
            ),
            child,
        )
        rest_api = RestApi(
            f"{name}-api",
            RestApiArgs(
                tags=self.tags,
                **self._edge(spec, aws_spec),
                invoke_arn=function.invoke_arn,
                integration_timeout_ms=integration_seconds * 1000,
                throttle_rate_limit=rest.throttle_rate_limit,
                throttle_burst_limit=rest.throttle_burst_limit,
                api_keys=rest.api_keys,
                execute_api_endpoint=rest.execute_api_endpoint,
            ),
            child,
        )
        function.allow_invoke("apiGateway", "apigateway.amazonaws.com", rest_api.invoke_source_arn)
        return function, rest_api

    def exports(self) -> dict[str, Any]:
        """The stack outputs: the endpoint and the identifiers an operator needs."""
        outputs: dict[str, Any] = {
            "url": self.url,
            "vpcId": self.network.vpc_id,
            "repositoryUrl": self.registry.repository_url,
            "imageRef": self.registry.image_ref,
            "kmsKeyArn": self.secret_store.kms_key_arn,
            "alertTopicArn": self.observability.alert_topic_arn,
            "dashboardName": self.observability.dashboard_name,
        }
        if self.gateway is not None:
            outputs["loadBalancerDnsName"] = self.gateway.dns_name
            outputs["webAclArn"] = self.gateway.web_acl_arn
        if self.service is not None:
            outputs["clusterName"] = self.service.cluster_name
            outputs["serviceName"] = self.service.service_name
            outputs["logGroupName"] = self.service.log_group_name
        if self.function is not None and self.rest_api is not None:
            outputs["functionName"] = self.function.function_name
            outputs["logGroupName"] = self.function.log_group_name
            outputs["restApiId"] = self.rest_api.rest_api_id
            outputs["webAclArn"] = self.rest_api.web_acl_arn
            outputs["accessLogGroupName"] = self.rest_api.access_log_group_name
        if self.cache is not None:
            outputs["cacheEndpoint"] = self.cache.primary_endpoint_address
        if self.vector_store is not None:
            outputs["vectorStoreEndpoint"] = self.vector_store.endpoint
        if self.queue is not None:
            outputs["queueUrl"] = self.queue.queue_url
        if self.worker is not None:
            outputs["workerServiceName"] = self.worker.service_name
        return outputs
