"""AiPlatform (GCP): the whole architecture composed from the building blocks.

Wiring only: tags (as labels), policy facts, environment defaults and the app's settings come
from the shared decisions; this file connects GCP blocks. Order follows what each block waits
for: the project's APIs, the KMS key and the service agents allowed to use it, the network (its
Private Service Access connection before Cloud SQL and Memorystore), the registry and the app's
service account, the data stores, the secrets (Memorystore's AUTH string among them), every
IAM binding, then the Cloud Run service after those bindings, the load balancer in front of it,
and observability.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_gcp.projects as projects

from components.base import PlatformBlock
from components.decisions import (
    CacheEndpoint,
    DatabaseEndpoint,
    QueueEndpoint,
    app_environment,
)
from components.gcp.apis import Apis, ApisArgs, GcpArgs, after
from components.gcp.cache import Cache, CacheArgs
from components.gcp.container_service import PUBLIC_INGRESS, ContainerService, ContainerServiceArgs
from components.gcp.gateway import Gateway, GatewayArgs
from components.gcp.iam import Identity, IdentityArgs
from components.gcp.kms import EncryptionKey, EncryptionKeyArgs
from components.gcp.network import Network, NetworkArgs
from components.gcp.observability import Observability, ObservabilityArgs
from components.gcp.queue import Queue, QueueArgs
from components.gcp.registry import Registry, RegistryArgs
from components.gcp.secrets import SecretStore, SecretStoreArgs
from components.gcp.spec import GcpSpec, adaptive_protection
from components.gcp.vector_store import VectorStore, VectorStoreArgs
from components.spec import PlatformSpec


def memory_quantity(mib: int) -> str:
    """Cloud Run's memory limit: ``1Gi`` for 1024 MiB, else ``<n>Mi``."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def account_id(stack: str) -> str:
    """The app's service account id: ``ai-api-<stack>`` within GCP's 6-30 characters."""
    return re.sub(r"[^a-z0-9-]", "-", f"ai-api-{stack}".lower())[:30].rstrip("-")


class AiPlatform(PlatformBlock):
    """The production AI API on Google Cloud, as the stack's :class:`PlatformSpec` describes it."""

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
        gcp = spec.section(GcpSpec)
        project = pulumi.Config("gcp").require("project")
        region = str(spec.region)
        child = pulumi.ResourceOptions(parent=self)
        protect = spec.protect_stateful
        common: dict[str, Any] = {"tags": tags, "project": project}

        apis = Apis(f"{name}-apis", ApisArgs(**common), child)
        common["depends_on"] = apis.services
        insecure = gcp.insecure
        # CMEK unless the dev stack opts out by name: then every store uses Google-managed keys
        self.key: EncryptionKey | None = None
        if not insecure.google_managed_keys:
            self.key = EncryptionKey(
                f"{name}-kms", EncryptionKeyArgs(**common, protect=protect, location=region), child
            )
        key_id = None if self.key is None else self.key.key_id

        def key_use(api: str) -> list[pulumi.Resource]:
            """What a store encrypted with the key waits for: its service agent's grant on the key."""
            return [] if self.key is None else [self.key.allow_service(api)[1]]

        # dead-lettering runs as the Pub/Sub service agent, with or without the key
        if self.key is None:
            pubsub_agent = self.child(
                "pubsubAgent",
                projects.ServiceIdentity,
                projects.ServiceIdentityArgs(project=project, service="pubsub.googleapis.com"),
                after(GcpArgs(**common)),
                name="pubsub-agent",
            ).email
            pubsub_key_use: list[pulumi.Resource] = []
        else:
            pubsub_agent, binding = self.key.allow_service("pubsub.googleapis.com")
            pubsub_key_use = [binding]

        self.network = Network(
            f"{name}-network",
            NetworkArgs(**common, region=region, cidr_block=spec.network.cidr, app_port=spec.app.port),
            child,
        )
        self.registry = Registry(
            f"{name}-registry",
            RegistryArgs(
                **common,
                location=region,
                kms_key_name=key_id,
                wait_for=key_use("artifactregistry.googleapis.com"),
                immutable_tags=not insecure.mutable_tags,
                image_digest=spec.app.image.digest,
                context=None if spec.app.image.build is None else str(project_root / spec.app.image.build),
            ),
            child,
        )
        self.identity = Identity(f"{name}-identity", IdentityArgs(**common, account_id=account_id(stack)), child)
        bindings: list[pulumi.Resource] = list(self.identity.bindings)
        stored = dict(secrets)

        self.cache: Cache | None = None
        if spec.cache.enabled:
            self.cache = Cache(
                f"{name}-cache",
                CacheArgs(
                    **common,
                    protect=protect,
                    region=region,
                    network_id=self.network.network_id,
                    psa_connection=self.network.psa_connection,
                    tier="STANDARD_HA" if spec.cache_high_availability else "BASIC",
                    memory_size_gb=gcp.cache_memory_gb,
                    deletion_protection=spec.deletion_protection,
                    kms_key_name=key_id,
                    wait_for=key_use("redis.googleapis.com"),
                ),
                child,
            )
            # Memorystore generates the AUTH string: that, not a config value, is the app's password
            stored[spec.cache.auth_token_key] = self.cache.auth_string

        self.vector_store: VectorStore | None = None
        if spec.vector_store.enabled:
            self.vector_store = VectorStore(
                f"{name}-vectors",
                VectorStoreArgs(
                    **common,
                    protect=protect,
                    region=region,
                    network_id=self.network.network_id,
                    psa_connection=self.network.psa_connection,
                    database_version=gcp.postgres_version,
                    tier=gcp.database_tier,
                    availability="REGIONAL" if spec.vector_high_availability else "ZONAL",
                    backup_retention_days=spec.backup_retention_days,
                    deletion_protection=spec.deletion_protection,
                    ssl_mode="ENCRYPTED_ONLY" if insecure.sql_encrypted_only else "TRUSTED_CLIENT_CERTIFICATE_REQUIRED",
                    public_ip=insecure.sql_public_ip,
                    kms_key_name=key_id,
                    wait_for=key_use("sqladmin.googleapis.com"),
                ),
                child,
            )
            bindings += self.vector_store.grant_connect(self.identity.email, self.identity.member)

        self.queue: Queue | None = None
        if spec.queue.enabled:
            self.queue = Queue(
                f"{name}-queue",
                QueueArgs(
                    **common,
                    pubsub_agent_member=pulumi.Output.concat("serviceAccount:", pubsub_agent),
                    max_delivery_attempts=max(5, spec.queue.max_receive_count),
                    kms_key_name=key_id,
                    wait_for=pubsub_key_use,
                ),
                child,
            )
            bindings += self.queue.grant_publish(self.identity.member)
            bindings += self.queue.grant_consume(self.identity.member)

        self.secret_store = SecretStore(
            f"{name}-secrets",
            SecretStoreArgs(
                **common,
                protect=protect,
                secrets=stored,
                kms_key_name=key_id,
                wait_for=key_use("secretmanager.googleapis.com"),
            ),
            child,
        )
        bindings += self.secret_store.grant_access(self.identity.member)

        # the app contract: the same APP_* settings on every target, from this platform's endpoints;
        # the app reaches Cloud SQL through the Cloud SQL connector as its service account's IAM user
        contract = app_environment(
            spec,
            stack,
            cache=None
            if self.cache is None
            else CacheEndpoint(
                self.cache.host, self.cache.port, spec.cache.auth_token_key, ca_certificate=self.cache.ca_certificate
            ),
            database=None
            if self.vector_store is None
            else DatabaseEndpoint(
                self.vector_store.private_ip,
                5432,
                self.vector_store.database_name,
                auth="cloudsql",
                user=f"{account_id(stack)}@{project}.iam",
                instance=self.vector_store.connection_name,
            ),
            queue=None
            if self.queue is None
            else QueueEndpoint(
                "pubsub",
                self.queue.topic_id,
                subscription=self.queue.subscription_id,
                dead_letter_url=self.queue.dead_letter_topic_id,
            ),
        )
        self.service = ContainerService(
            f"{name}-service",
            ContainerServiceArgs(
                **common,
                region=region,
                ingress=PUBLIC_INGRESS if insecure.public_ingress else "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
                image=self.registry.image_ref,
                service_account_email=self.identity.email,
                network_id=self.network.network_id,
                subnetwork_id=self.network.subnetwork_id,
                bindings=bindings,
                port=spec.app.port,
                cpu=spec.app.cpu,
                memory=memory_quantity(spec.app.memory_mib),
                min_instances=spec.min_replicas,
                max_instances=spec.app.max_replicas,
                concurrency=spec.app.scaling.concurrent_requests,
                timeout_seconds=spec.app.timeout_seconds,
                environment=contract.environment,
                secrets={variable: self.secret_store.secret_ids[key] for variable, key in contract.secrets.items()},
                health_path=spec.app.health_path,
                ready_path=spec.app.ready_path,
                deletion_protection=spec.deletion_protection,
            ),
            child,
        )
        self.gateway = Gateway(
            f"{name}-gateway",
            GatewayArgs(
                **common,
                region=region,
                service_name=self.service.service_name,
                domain=spec.gateway.domain,
                ssl_profile=gcp.ssl_profile,
                waf_enabled=spec.waf_enabled,
                waf_preview=spec.waf_mode == "count",
                waf_sensitivity=gcp.waf_sensitivity,
                rate_limit_per_ip=spec.gateway.rate_limit_per_ip,
                max_body_bytes=spec.gateway.max_body_bytes,
                ip_allowlist=list(spec.gateway.ip_allowlist),
                adaptive_protection=adaptive_protection(spec),
            ),
            child,
        )
        alerts = spec.observability.alerts
        self.observability = Observability(
            f"{name}-observability",
            ObservabilityArgs(
                **common,
                alert_emails=list(spec.observability.alert_emails),
                service_name=self.service.service_name,
                url_map_name=self.gateway.url_map_name,
                domain=spec.gateway.domain,
                health_path=spec.app.health_path,
                cache_instance_id=None if self.cache is None else self.cache.instance_id,
                latency_p95_ms=alerts.latency_p95_seconds * 1000,
                error_rate_percent=alerts.error_rate_percent,
                cpu_ratio=alerts.cpu_percent / 100,
                redis_memory_ratio=alerts.redis_memory_percent / 100,
                log_retention_days=spec.log_retention_days,
                billing_account=gcp.billing_account,
                budget_amount=spec.budget.monthly_amount,
                budget_currency=spec.budget.currency,
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
            "loadBalancerIp": self.gateway.ip_address,
            "securityPolicy": self.gateway.security_policy_name,
            "repositoryUrl": self.registry.repository_url,
            "imageRef": self.registry.image_ref,
            "serviceName": self.service.service_name,
            "serviceAccount": self.identity.email,
        }
        if self.key is not None:
            outputs["kmsKeyId"] = self.key.key_id
        if self.cache is not None:
            outputs["cacheHost"] = self.cache.host
        if self.vector_store is not None:
            outputs["vectorStoreConnectionName"] = self.vector_store.connection_name
        if self.queue is not None:
            outputs["queueTopic"] = self.queue.topic_id
            outputs["queueSubscription"] = self.queue.subscription_id
        return outputs
