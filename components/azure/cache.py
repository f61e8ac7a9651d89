"""Cache: Azure Managed Redis (Redis Enterprise): TLS only, Entra ID only (no access keys), private."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from components.base import Block, BlockArgs

_SKU = re.compile(r"^(Balanced|MemoryOptimized|ComputeOptimized|FlashOptimized)_[A-Z]\d+$")
#: the database port of Azure Managed Redis (TLS)
PORT = 10000


@dataclass(kw_only=True)
class CacheArgs(BlockArgs):
    """Inputs of :class:`Cache`. Child keys for ``transform``: ``cluster``, ``database``,
    ``access-<key>``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    sku_name: str = "Balanced_B1"
    """Azure Managed Redis SKU."""
    high_availability: bool = True
    """A replica in another zone; off only in dev."""
    public_access: bool = False
    """Also accept public traffic (the stack's opt-out azure.insecure.publicDataServices)."""
    access_keys: bool = False
    """Also accept access keys (the stack's opt-out azure.insecure.localAuth); the app uses Entra ID."""


class Cache(Block):
    """Redis for rate limits, the response cache, sessions and jobs; the app signs in with Entra ID."""

    host: pulumi.Output[str]
    """Host name of the Redis endpoint (private endpoint only)."""
    port: int = PORT
    """The Redis TLS port."""
    cluster_id: pulumi.Output[str]
    """Id of the Redis cluster."""
    database_id: pulumi.Output[str]
    """Id of the Redis database."""

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not _SKU.match(args.sku_name):
            raise ValueError(
                f"CacheArgs.sku_name={args.sku_name!r}: must be an Azure Managed Redis SKU such as Balanced_B1"
            )
        super().__init__("ai-platform:azure:Cache", name, args, opts)
        import pulumi_azure_native.redisenterprise as redisenterprise

        self._args = args
        cluster = self.child(
            "cluster",
            redisenterprise.RedisEnterprise,
            redisenterprise.RedisEnterpriseArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                sku=redisenterprise.SkuArgs(name=args.sku_name),
                public_network_access="Enabled" if args.public_access else "Disabled",
                minimum_tls_version="1.2",
                high_availability="Enabled" if args.high_availability else "Disabled",
            ),
            stateful=True,
        )
        database = self.child(
            "database",
            redisenterprise.Database,
            redisenterprise.DatabaseArgs(
                resource_group_name=args.resource_group_name,
                cluster_name=cluster.name,
                database_name="default",
                client_protocol="Encrypted",
                access_keys_authentication="Enabled" if args.access_keys else "Disabled",
                clustering_policy="EnterpriseCluster",
                eviction_policy="VolatileLRU",
                port=PORT,
            ),
            stateful=True,
        )
        self.cluster = cluster
        self._cluster_name = cluster.name
        self._database = database
        self.database = database
        self.database_id = database.id
        self.cluster_id = cluster.id
        self.host = cluster.host_name.apply(lambda h: h or "")
        self.register_outputs({"host": self.host, "port": PORT, "clusterId": cluster.id})

    def grant_data_access(self, key: str, object_id: pulumi.Input[str]) -> pulumi.Resource:
        """The ``default`` access policy (read/write data) for a managed identity's object id."""
        import pulumi_azure_native.redisenterprise as redisenterprise

        return self.child(
            f"access-{key}",
            redisenterprise.AccessPolicyAssignment,
            redisenterprise.AccessPolicyAssignmentArgs(
                resource_group_name=self._args.resource_group_name,
                cluster_name=self._cluster_name,
                database_name=self._database.name,
                access_policy_name="default",
                user=redisenterprise.AccessPolicyAssignmentPropertiesUserArgs(object_id=object_id),
            ),
            name=f"access-{key}",
        )
