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
from components.aws.gateway import Gateway, GatewayArgs
from components.aws.network import Network, NetworkArgs
from components.aws.observability import Observability, ObservabilityArgs
from components.aws.policy_documents import partition_of_region
from components.aws.queue import Queue, QueueArgs
from components.aws.registry import Registry, RegistryArgs
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
        self.gateway = Gateway(
            f"{name}-gateway",
            GatewayArgs(
                tags=tags,
                vpc_id=self.network.vpc_id,
                vpc_cidr_block=self.network.vpc_cidr_block,
                subnet_ids=self.network.public_subnet_ids,
                domain=spec.gateway.domain,
                certificate_arn=aws_spec.certificate_arn,
                hosted_zone_id=aws_spec.hosted_zone_id,
                target_port=spec.app.port,
                health_check_path=spec.app.ready_path,
                waf_enabled=spec.waf_enabled,
                waf_mode="block" if spec.waf_mode == "block" else "count",
                rate_limit_per_ip=spec.gateway.rate_limit_per_ip,
                max_body_size_bytes=spec.gateway.max_body_bytes,
                ip_allowlist=list(spec.gateway.ip_allowlist),
                access_log_retention_days=spec.log_retention_days,
                log_kms_key_arn=kms_key_arn,
                deletion_protection=spec.deletion_protection,
                idle_timeout_seconds=spec.app.timeout_seconds,
            ),
            child,
        )

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

        self.service = ContainerService(
            f"{name}-service",
            ContainerServiceArgs(
                tags=tags,
                vpc_id=self.network.vpc_id,
                vpc_cidr_block=self.network.vpc_cidr_block,
                subnet_ids=self.network.private_subnet_ids,
                load_balancer_security_group_id=self.gateway.security_group_id,
                target_group_arn=self.gateway.target_group_arn,
                listener_arn=self.gateway.https_listener_arn,
                load_balancer_arn_suffix=self.gateway.load_balancer_arn_suffix,
                target_group_arn_suffix=self.gateway.target_group_arn_suffix,
                image=self.registry.image_ref,
                cpu=int(spec.app.cpu * 1024),
                memory=spec.app.memory_mib,
                port=spec.app.port,
                min_replicas=spec.min_replicas,
                max_replicas=spec.app.max_replicas,
                cpu_target_percent=spec.app.scaling.cpu_percent,
                requests_per_target=spec.app.scaling.requests_per_minute,
                environment=contract.environment,
                secrets=ecs_secrets,
                secret_arns=list(ecs_secrets.values()),
                kms_key_arn=kms_key_arn,
                log_retention_days=spec.log_retention_days,
                task_policy_statements=task_statements,
                health_check_path=spec.app.health_path,
            ),
            child,
        )
        self.worker: Worker | None = None
        if self.queue is not None:
            worker = spec.queue.worker
            self.worker = Worker(
                f"{name}-worker",
                WorkerArgs(
                    tags=tags,
                    cluster_arn=self.service.cluster_arn,
                    cluster_name=self.service.cluster_name,
                    subnet_ids=self.network.private_subnet_ids,
                    security_group_id=self.service.security_group_id,
                    execution_role_arn=self.service.execution_role_arn,
                    task_role_arn=self.service.task_role_arn,
                    role_policies=self.service.role_policies,
                    log_group_name=self.service.log_group_name,
                    image=self.registry.image_ref,
                    queue_name=self.queue.queue_name,
                    environment=contract.environment,
                    secrets=ecs_secrets,
                    min_replicas=spec.worker_min_replicas,
                    max_replicas=worker.max_replicas,
                    backlog_per_replica=worker.backlog_per_replica,
                ),
                child,
            )
        for store in (self.cache, self.vector_store):
            if store is not None:
                store.allow_from("service", self.service.security_group_id)

        alerts = spec.observability.alerts
        self.observability = Observability(
            f"{name}-observability",
            ObservabilityArgs(
                tags=tags,
                kms_key_arn=kms_key_arn,
                alert_emails=list(spec.observability.alert_emails),
                load_balancer_arn_suffix=self.gateway.load_balancer_arn_suffix,
                target_group_arn_suffix=self.gateway.target_group_arn_suffix,
                cluster_name=self.service.cluster_name,
                service_name=self.service.service_name,
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
        self.url = self.gateway.url
        self.register_exports()

    def exports(self) -> dict[str, Any]:
        """The stack outputs: the endpoint and the identifiers an operator needs."""
        outputs: dict[str, Any] = {
            "url": self.gateway.url,
            "loadBalancerDnsName": self.gateway.dns_name,
            "webAclArn": self.gateway.web_acl_arn,
            "vpcId": self.network.vpc_id,
            "repositoryUrl": self.registry.repository_url,
            "imageRef": self.registry.image_ref,
            "clusterName": self.service.cluster_name,
            "serviceName": self.service.service_name,
            "logGroupName": self.service.log_group_name,
            "kmsKeyArn": self.secret_store.kms_key_arn,
            "alertTopicArn": self.observability.alert_topic_arn,
            "dashboardName": self.observability.dashboard_name,
        }
        if self.cache is not None:
            outputs["cacheEndpoint"] = self.cache.primary_endpoint_address
        if self.vector_store is not None:
            outputs["vectorStoreEndpoint"] = self.vector_store.endpoint
        if self.queue is not None:
            outputs["queueUrl"] = self.queue.queue_url
        if self.worker is not None:
            outputs["workerServiceName"] = self.worker.service_name
        return outputs
