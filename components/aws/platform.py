"""AiPlatform (AWS): the whole reference architecture composed from the building blocks.

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
from components.aws.queue import Queue, QueueArgs
from components.aws.registry import Registry, RegistryArgs
from components.aws.secrets import SecretStore, SecretStoreArgs
from components.aws.vector_store import VectorStore, VectorStoreArgs
from components.base import Block, BlockArgs
from components.spec import AwsSpec, PlatformSpec

#: the database user the app signs in as with IAM authentication (no password); a migration
#: creates it: CREATE USER ai_api; GRANT rds_iam TO ai_api;
APP_DB_USER = "ai_api"


class AiPlatform(Block):
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
        tags = {
            **spec.tags,
            "environment": spec.environment,
            "stack": pulumi.get_stack(),
            "managed-by": "pulumi",
        }
        self.policy_facts: dict[str, Any] = {
            "cloud": spec.cloud,
            "environment": spec.environment,
            "optOuts": list(spec.opt_outs),
        }
        super().__init__(
            "ai-platform:aws:AiPlatform",
            name,
            BlockArgs(tags=tags),
            opts,
            props=self.policy_facts,
        )
        aws_spec = spec.aws or AwsSpec()
        prod = spec.environment == "prod"
        child = pulumi.ResourceOptions(parent=self)

        self.secret_store = SecretStore(
            f"{name}-secrets",
            SecretStoreArgs(tags=tags, secrets=dict(secrets), recovery_window_days=30 if prod else 7),
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
        # APP_* are the app's settings (app/settings.py); AI_PLATFORM_* describe the platform
        # (the queue URL) for workers that use it
        environment: dict[str, pulumi.Input[str]] = {
            "APP_PORT": str(spec.app.port),
            "APP_MAX_BODY_BYTES": str(spec.gateway.max_body_bytes),
            "APP_REQUEST_TIMEOUT_S": str(spec.app.timeout_seconds),
            "APP_SERVICE_NAME": f"ai-api-{pulumi.get_stack()}",
            **spec.app.environment,
        }
        ecs_secrets: dict[str, pulumi.Input[str]] = {
            variable: self.secret_store.secret_arns[key] for variable, key in spec.app.secrets.items()
        }
        task_statements: list[Any] = []

        self.cache: Cache | None = None
        if spec.cache.enabled:
            ha = spec.cache_high_availability
            self.cache = Cache(
                f"{name}-cache",
                CacheArgs(
                    tags=tags,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=private_subnets,
                    auth_token=secrets[spec.cache.auth_token_key],
                    kms_key_arn=kms_key_arn,
                    node_type=aws_spec.cache_node_type,
                    num_cache_clusters=2 if ha else 1,
                    multi_az=ha,
                    snapshot_retention_days=7 if prod else 1,
                    log_retention_days=spec.log_retention_days,
                ),
                child,
            )
            environment["APP_REDIS_URL"] = pulumi.Output.format(
                "rediss://{0}:{1}/0", self.cache.primary_endpoint_address, self.cache.port
            )
            ecs_secrets["APP_REDIS_PASSWORD"] = self.secret_store.secret_arns[spec.cache.auth_token_key]

        self.vector_store: VectorStore | None = None
        if spec.vector_store.enabled:
            ha = spec.vector_high_availability
            self.vector_store = VectorStore(
                f"{name}-vectors",
                VectorStoreArgs(
                    tags=tags,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=private_subnets,
                    kms_key_arn=kms_key_arn,
                    min_capacity=aws_spec.vector_min_capacity,
                    max_capacity=aws_spec.vector_max_capacity,
                    instance_count=2 if ha else 1,
                    availability_zones=self.network.availability_zones,
                    deletion_protection=spec.deletion_protection,
                    skip_final_snapshot=not prod,
                    backup_retention_days=spec.backup_retention_days,
                    log_retention_days=spec.log_retention_days,
                    monitoring_interval_seconds=60 if prod else 0,
                ),
                child,
            )
            # IAM authentication: no password anywhere; the app signs a token per connection.
            # TLS is required; verify-full would also need the RDS CA bundle in the image.
            environment["APP_DATABASE_URL"] = pulumi.Output.format(
                "postgresql://{0}@{1}:{2}/{3}?sslmode=require",
                APP_DB_USER,
                self.vector_store.endpoint,
                self.vector_store.port,
                self.vector_store.database_name,
            )
            environment["APP_DATABASE_IAM_AUTH"] = "true"
            environment["APP_DATABASE_REGION"] = str(spec.region)
            task_statements.append(self.vector_store.connect_statement(APP_DB_USER))

        self.queue: Queue | None = None
        if spec.queue.enabled:
            self.queue = Queue(
                f"{name}-queue",
                QueueArgs(tags=tags, kms_key_arn=kms_key_arn, max_receive_count=spec.queue.max_receive_count),
                child,
            )
            environment["AI_PLATFORM_QUEUE_URL"] = self.queue.queue_url
            task_statements.append(
                self.queue.queue_arn.apply(
                    lambda arn: {
                        "Sid": "UseWorkQueue",
                        "Effect": "Allow",
                        "Action": [
                            "sqs:SendMessage",
                            "sqs:ReceiveMessage",
                            "sqs:DeleteMessage",
                            "sqs:ChangeMessageVisibility",
                            "sqs:GetQueueAttributes",
                        ],
                        "Resource": arn,
                    }
                )
            )
            task_statements.append(
                kms_key_arn.apply(
                    lambda arn: {
                        "Sid": "UseQueueEncryptionKey",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": arn,
                        "Condition": {"StringLike": {"kms:ViaService": "sqs.*.amazonaws.com"}},
                    }
                )
            )
        if aws_spec.bedrock:
            task_statements.append(
                {
                    "Sid": "InvokeBedrockModels",
                    "Effect": "Allow",
                    "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                    "Resource": [f"arn:aws:bedrock:{spec.region}::foundation-model/*"],
                }
            )

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
        # The engine keeps a component's *registered outputs* as its state, and stack policies
        # (AnalyzeStack) read that state: repeat the facts they need (environment, opt-outs).
        self.register_outputs({**self.exports(), **self.policy_facts})

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
        return outputs
