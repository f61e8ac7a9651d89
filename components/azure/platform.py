"""AiPlatform (Azure): seed 002's architecture composed from the building blocks.

Wiring only: the tags, policy facts, environment defaults and the app's settings come from the
shared decisions (components.decisions, components.spec); this file connects Azure blocks.

Order: the resource group and the workspace first (every block's diagnostic setting writes to
it), the network and its private DNS zones, the app's identity, then the services it uses, each
with its private endpoint and its role assignment for the identity; the app only after every
role assignment (a revision that starts before its AcrPull or Key Vault role fails to pull or to
resolve its secrets), then API Management in front of the app and the gateway in front of that.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from components.azure.ai import Ai, AiArgs, ModelDeployment
from components.azure.api_management import ApiManagement, ApiManagementArgs, JwtValidation
from components.azure.cache import Cache, CacheArgs
from components.azure.container_service import ContainerService, ContainerServiceArgs
from components.azure.gateway import Gateway, GatewayArgs
from components.azure.identity import Identity, IdentityArgs
from components.azure.network import Network, NetworkArgs, subnet_prefixes
from components.azure.observability import Alert, Observability, ObservabilityArgs
from components.azure.queue import Queue, QueueArgs
from components.azure.registry import Registry, RegistryArgs
from components.azure.secrets import SecretStore, SecretStoreArgs
from components.azure.spec import AzureSpec, api_management_sku
from components.azure.vector_store import EntraAdmin, VectorStore, VectorStoreArgs, bootstrap_sql
from components.base import PlatformBlock
from components.decisions import (
    CacheEndpoint,
    DatabaseEndpoint,
    QueueEndpoint,
    app_environment,
    secret_references,
)
from components.spec import PlatformSpec

ZONES = ["1", "2", "3"]
#: the Key Vault secret (a stack-made one, not a config key) with Application Insights' connection string
APIM_CONNECTION_STRING = "appInsightsConnectionString"


class AiPlatform(PlatformBlock):
    """The production AI API on Azure, as the stack's :class:`PlatformSpec` describes it."""

    def __init__(
        self,
        name: str,
        spec: PlatformSpec,
        secrets: Mapping[str, pulumi.Input[str]],
        *,
        project_root: Path,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        import pulumi_azure_native.authorization as authorization
        import pulumi_azure_native.resources as resources

        super().__init__(name, spec, opts)
        stack, tags = self.stack, self.tags
        azure = spec.section(AzureSpec)
        location = str(spec.region)
        prod = spec.environment == "prod"
        protect = spec.protect_stateful
        child = pulumi.ResourceOptions(parent=self)
        client = authorization.get_client_config_output()
        public = set(azure.public_services)
        keys = set(azure.local_auth)

        group = self.child(
            "resourceGroup",
            resources.ResourceGroup,
            resources.ResourceGroupArgs(
                resource_group_name=azure.resource_group_name or f"{name}-{stack}", location=location
            ),
            name="rg",
        )
        rg = group.name
        where: dict[str, Any] = {"resource_group_name": rg, "location": location}

        self.observability = Observability(
            f"{name}-observability",
            ObservabilityArgs(
                tags=tags,
                **where,
                resource_group_id=group.id,
                retention_days=min(max(spec.log_retention_days, 30), 730),
                alert_emails=list(spec.observability.alert_emails),
                budget_monthly_amount=spec.budget.monthly_amount,
                budget_thresholds_percent=list(spec.budget.thresholds),
            ),
            child,
        )
        observe = self.observability.diagnose
        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                tags=tags,
                **where,
                cidr_block=spec.network.cidr,
                flow_log_retention_days=min(spec.log_retention_days, 365),
            ),
            child,
        )
        network = self.network
        self.identity = Identity(f"{name}-identity", IdentityArgs(tags=tags, **where), child)
        principal = self.identity.principal_id
        grants: list[pulumi.Resource] = [self.observability.grant_telemetry("app", principal)]

        self.secret_store = SecretStore(
            f"{name}-secrets",
            SecretStoreArgs(
                tags=tags,
                protect=protect,
                **where,
                vault_name=azure.key_vault_name,
                tenant_id=client.tenant_id,
                public_access="keyVault" in public,
                purge_protection=not spec.insecure.disable_deletion_protection,
                # the cache's AUTH token is not used here: the app signs in to Redis with Entra ID;
                # API Management's logger reads the telemetry connection string from here
                secrets={
                    **{k: v for k, v in secrets.items() if k != spec.cache.auth_token_key},
                    APIM_CONNECTION_STRING: self.observability.connection_string,
                },
            ),
            child,
        )
        vault = self.secret_store
        network.private_endpoint("vault", vault.vault, vault.vault_id)
        observe("vault", vault.vault, vault.vault_id)
        grants.append(vault.grant_read("app", principal))

        self.registry = Registry(
            f"{name}-registry",
            RegistryArgs(
                tags=tags,
                **where,
                registry_name=azure.registry_name,
                image_digest=str(spec.app.image.digest),
                zone_redundant=prod,
                public_access="registry" in public,
            ),
            child,
        )
        network.private_endpoint("registry", self.registry.registry, self.registry.registry_id)
        observe("registry", self.registry.registry, self.registry.registry_id)
        grants.append(self.registry.grant_pull("app", principal))

        self.cache: Cache | None = None
        if spec.cache.enabled:
            self.cache = Cache(
                f"{name}-cache",
                CacheArgs(
                    tags=tags,
                    protect=protect,
                    **where,
                    sku_name=azure.redis_sku,
                    high_availability=spec.cache_high_availability,
                    public_access="cache" in public,
                    access_keys="cache" in keys,
                ),
                child,
            )
            network.private_endpoint("redisEnterprise", self.cache.cluster, self.cache.cluster_id)
            observe("cache", self.cache.database, self.cache.database_id)
            grants.append(self.cache.grant_data_access("app", principal))

        self.vector_store: VectorStore | None = None
        self.database_admin: Identity | None = None
        self.database_bootstrap: pulumi.Output[str] | None = None
        if spec.vector_store.enabled:
            group = azure.postgres_admin_group
            if group is not None:
                admin = EntraAdmin(group.object_id, group.name, "Group")
            else:  # a dedicated identity: the app's own never administers the server
                self.database_admin = Identity(f"{name}-dbadmin", IdentityArgs(tags=tags, **where), child)
                admin = EntraAdmin(self.database_admin.principal_id, self.database_admin.name, "ServicePrincipal")
            self.vector_store = VectorStore(
                f"{name}-vectors",
                VectorStoreArgs(
                    tags=tags,
                    protect=protect,
                    **where,
                    subnet_id=network.subnet_ids["postgres"],
                    vnet_id=network.vnet_id,
                    tenant_id=client.tenant_id,
                    admin=admin,
                    sku_name=azure.postgres_sku,
                    tier=azure.postgres_tier,
                    storage_gb=azure.postgres_storage_gb,
                    zone_redundant=spec.vector_high_availability,
                    # prod: 35 days, geo-redundant (seed); dev: the service's 7-day minimum
                    backup_retention_days=35 if prod else max(spec.backup_retention_days, 7),
                    geo_redundant_backup=prod,
                    delete_lock=spec.deletion_protection,
                ),
                child,
            )
            observe("vectors", self.vector_store.server, self.vector_store.server_id)
            # the app's database role: made by the administrator after the first `pulumi up`
            # (README, "The database step"); the stack exports the script
            self.database_bootstrap = pulumi.Output.all(self.identity.name, principal).apply(
                lambda values: bootstrap_sql(values[0], values[1])
            )

        self.queue: Queue | None = None
        if spec.queue.enabled:
            self.queue = Queue(
                f"{name}-queue",
                QueueArgs(
                    tags=tags,
                    **where,
                    max_delivery_count=spec.queue.max_receive_count,
                    public_access="queue" in public,
                    local_auth="queue" in keys,
                ),
                child,
            )
            network.private_endpoint("namespace", self.queue.namespace, self.queue.namespace_id)
            observe("queue", self.queue.namespace, self.queue.namespace_id)
            grants.extend(self.queue.grant_consume("app", principal))

        self.ai: Ai | None = None
        if azure.openai_deployments:
            self.ai = Ai(
                f"{name}-ai",
                AiArgs(
                    tags=tags,
                    **where,
                    custom_subdomain=str(azure.openai_subdomain),
                    deployments=[
                        ModelDeployment(d.name, d.model, d.version, d.sku, d.capacity) for d in azure.openai_deployments
                    ],
                    public_access="openai" in public,
                    local_auth="openai" in keys,
                ),
                child,
            )
            network.private_endpoint("account", self.ai.account, self.ai.account_id)
            observe("ai", self.ai.account, self.ai.account_id)
            grants.append(self.ai.grant_use("app", principal))

        contract = app_environment(
            spec,
            stack,
            cache=None if self.cache is None else CacheEndpoint(self.cache.host, self.cache.port, entra=True),
            database=None
            if self.vector_store is None
            else DatabaseEndpoint(
                self.vector_store.host,
                self.vector_store.port,
                self.vector_store.database_name,
                auth="entra",
                user=self.identity.name,
            ),
            queue=None
            if self.queue is None
            else QueueEndpoint(
                "servicebus",
                pulumi.Output.format("sb://{0}/{1}", self.queue.fully_qualified_namespace, self.queue.queue_name),
            ),
        )
        apim_subnet = subnet_prefixes(spec.network.cidr)["apim"]
        self.service = ContainerService(
            f"{name}-service",
            ContainerServiceArgs(
                tags=tags,
                **where,
                subnet_id=network.subnet_ids["apps"],
                vnet_id=network.vnet_id,
                allowed_ingress_cidrs=[apim_subnet],
                zone_redundant=prod,
                identity_id=self.identity.id,
                identity_client_id=self.identity.client_id,
                registry_server=self.registry.login_server,
                image=self.registry.image_ref,
                port=spec.app.port,
                cpu=spec.app.cpu,
                memory_gib=spec.app.memory_mib / 1024,
                min_replicas=spec.min_replicas,
                max_replicas=spec.app.max_replicas,
                concurrent_requests=spec.app.scaling.concurrent_requests,
                cpu_percent=spec.app.scaling.cpu_percent,
                health_path=spec.app.health_path,
                ready_path=spec.app.ready_path,
                environment=contract.environment,
                secrets=secret_references(contract, vault.secret_urls),
                wait_for=grants,
            ),
            child,
        )
        observe("environment", self.service.environment, self.service.environment_id)

        self.api_management = ApiManagement(
            f"{name}-apim",
            ApiManagementArgs(
                tags=tags,
                **where,
                subnet_id=network.subnet_ids["apim"],
                publisher_email=azure.publisher_email,
                sku=api_management_sku(spec),
                capacity=2 if prod else 1,
                zones=ZONES[:2] if prod else [],
                backend_url=pulumi.Output.concat("https://", self.service.fqdn),
                app_insights_id=self.observability.app_insights_id,
                key_vault_id=vault.vault_id,
                app_insights_connection_string_secret=vault.secret_urls[APIM_CONNECTION_STRING],
                rate_limit_calls=spec.gateway.rate_limit_per_ip,
                max_body_bytes=spec.gateway.max_body_bytes,
                timeout_seconds=spec.app.timeout_seconds,
                virtual_network_type=azure.api_management_network,
                jwt=None
                if azure.api_jwt is None
                else JwtValidation(azure.api_jwt.openid_config_url, azure.api_jwt.audience),
            ),
            child,
        )
        apim = self.api_management
        observe("apim", apim.service, apim.service_id)

        self.gateway = Gateway(
            f"{name}-gateway",
            GatewayArgs(
                tags=tags,
                **where,
                subscription_id=client.subscription_id,
                subnet_id=network.subnet_ids["gateway"],
                domain=spec.gateway.domain,
                certificate_secret_id=azure.certificate_secret_id,
                certificate_key_vault_id=azure.certificate_key_vault_id,
                backend_host=apim.gateway_host,
                # an External API Management has no private address: the gateway reaches it by name
                backend_ip=apim.private_ip if azure.api_management_network == "Internal" else None,
                health_path=spec.app.health_path,
                zones=ZONES if prod else [],
                min_capacity=2 if prod else 1,
                waf_mode="Prevention" if spec.waf_mode == "block" else "Detection",
                rate_limit_per_ip=spec.gateway.rate_limit_per_ip,
                max_body_bytes=spec.gateway.max_body_bytes,
                ip_allowlist=list(spec.gateway.ip_allowlist),
                timeout_seconds=spec.app.timeout_seconds,
            ),
            child,
        )
        observe("gateway", self.gateway.gateway, self.gateway.gateway_id)

        self.observability.availability_test(f"{self.gateway.url}{spec.app.health_path}")
        alerts = spec.observability.alerts
        insights = self.observability.app_insights_id
        on_insights = "microsoft.insights/components"
        rules = [
            Alert(
                "latency", insights, on_insights, "requests/duration", "GreaterThan",
                alerts.latency_p95_seconds * 1000, "Average", "Requests slower than the seed's 4 s",
            ),
            Alert(
                "availability", insights, on_insights, "availabilityResults/availabilityPercentage", "LessThan",
                alerts.availability_percent, "Average", "Health check availability below the seed's 99.5 %",
            ),
            # a metric alert counts, it cannot divide: 5 failed requests in 5 minutes pages someone
            Alert("errors", insights, on_insights, "requests/failed", "GreaterThan", 5, "Count", "Failed requests"),
            Alert(
                "cpu", self.service.app_id, "Microsoft.App/containerApps", "CpuPercentage", "GreaterThan",
                alerts.cpu_percent, "Average", "App CPU above the threshold",
            ),
        ]  # fmt: skip
        if self.cache is not None:
            rules.append(
                Alert(
                    "redis-memory",
                    self.cache.cluster_id,
                    "Microsoft.Cache/redisEnterprise",
                    "usedmemorypercentage",
                    "GreaterThan",
                    alerts.redis_memory_percent,
                    "Maximum",
                    "Redis memory above the threshold",
                )
            )
        for rule in rules:
            self.observability.alert(rule)
        self.url = self.gateway.url
        self.register_exports()

    def exports(self) -> dict[str, Any]:
        """The stack outputs: the endpoint and the identifiers an operator needs."""
        outputs: dict[str, Any] = {
            "url": self.gateway.url,
            "publicIp": self.gateway.public_ip,
            "vnetId": self.network.vnet_id,
            "registryLoginServer": self.registry.login_server,
            "imageRef": self.registry.image_ref,
            "appFqdn": self.service.fqdn,
            "identityClientId": self.identity.client_id,
            "keyVaultUri": self.secret_store.vault_uri,
            "workspaceId": self.observability.workspace_id,
            "actionGroupId": self.observability.action_group_id,
        }
        if self.cache is not None:
            outputs["cacheHost"] = self.cache.host
        if self.vector_store is not None:
            outputs["vectorStoreHost"] = self.vector_store.host
            outputs["databaseBootstrapSql"] = self.database_bootstrap
            if self.database_admin is not None:
                outputs["databaseAdminClientId"] = self.database_admin.client_id
        if self.queue is not None:
            outputs["queueNamespace"] = self.queue.fully_qualified_namespace
        if self.ai is not None:
            outputs["openaiEndpoint"] = self.ai.endpoint
        return outputs
