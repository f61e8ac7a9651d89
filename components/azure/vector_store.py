"""VectorStore: PostgreSQL Flexible Server (API 2025-08-01) with pgvector, Entra ID only, on a
delegated subnet with its private DNS zone; administered by an Entra principal that is not the app.

The app's own database role is made by that administrator after the server exists (Azure has no
ARM resource for a database role): :func:`bootstrap_sql` is the step, run once per stack."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.azure.network import linked_zone
from components.base import Block, BlockArgs

PORT = 5432
DATABASE = "ai"


@dataclass(frozen=True)
class EntraAdmin:
    """The server's Entra administrator: a group of operators, or a dedicated identity."""

    object_id: pulumi.Input[str]
    """The Entra object id of the group or the identity's service principal."""
    name: pulumi.Input[str]
    """The group's display name, or the identity's name (the role name in PostgreSQL)."""
    principal_type: str = "Group"
    """``Group`` or ``ServicePrincipal`` (a managed identity)."""


@dataclass(kw_only=True)
class VectorStoreArgs(BlockArgs):
    """Inputs of :class:`VectorStore`. Child keys for ``transform``: ``zone``, ``link``, ``server``,
    ``database``, ``extensions``, ``admin``, ``lock``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    subnet_id: pulumi.Input[str]
    """A subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers."""
    vnet_id: pulumi.Input[str]
    """Virtual network the server's private DNS zone links to."""
    tenant_id: pulumi.Input[str]
    """Entra ID tenant for the server's Entra authentication."""
    admin: EntraAdmin
    """Never the app's identity: the app gets a database role of its own (:func:`bootstrap_sql`)."""
    sku_name: str = "Standard_B1ms"
    """Compute SKU of the PostgreSQL Flexible Server."""
    tier: str = "Burstable"
    """Pricing tier matching the SKU."""
    storage_gb: int = 32
    """Storage size in GB."""
    zone_redundant: bool = True
    """A standby replica in another zone."""
    backup_retention_days: int = 7
    """Days backups are kept."""
    geo_redundant_backup: bool = False
    """Copy backups to the paired region."""
    delete_lock: bool = False
    """A CanNotDelete management lock on the server (prod)."""


class VectorStore(Block):
    """Documents, chunks and embeddings (pgvector); the app signs in with its managed identity."""

    host: pulumi.Output[str]
    """Host name of the server (private access only)."""
    port: int = PORT
    """The PostgreSQL port."""
    database_name: str = DATABASE
    """Name of the database the app uses."""
    server_id: pulumi.Output[str]
    """Id of the PostgreSQL Flexible Server."""

    def __init__(self, name: str, args: VectorStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:VectorStore", name, args, opts)
        import pulumi_azure_native.authorization as authorization
        import pulumi_azure_native.dbforpostgresql as postgresql

        rg = args.resource_group_name
        self._args = args
        zone, link = linked_zone(self, f"{name}.private.postgres.database.azure.com", rg, args.vnet_id)
        server = self.child(
            "server",
            postgresql.Server,
            postgresql.ServerArgs(
                resource_group_name=rg,
                location=args.location,
                version="17",
                sku=postgresql.SkuArgs(name=args.sku_name, tier=args.tier),
                storage=postgresql.StorageArgs(storage_size_gb=args.storage_gb, auto_grow="Enabled"),
                auth_config=postgresql.AuthConfigArgs(
                    active_directory_auth="Enabled", password_auth="Disabled", tenant_id=args.tenant_id
                ),
                network=postgresql.NetworkArgs(
                    delegated_subnet_resource_id=args.subnet_id,
                    private_dns_zone_arm_resource_id=zone.id,
                    public_network_access="Disabled",
                ),
                high_availability=postgresql.HighAvailabilityArgs(
                    mode="ZoneRedundant" if args.zone_redundant else "Disabled"
                ),
                backup=postgresql.BackupArgs(
                    backup_retention_days=args.backup_retention_days,
                    geo_redundant_backup="Enabled" if args.geo_redundant_backup else "Disabled",
                ),
            ),
            # the server registers its A record in the zone: the zone must resolve in the VNet first
            pulumi.ResourceOptions(depends_on=[link]),
            stateful=True,
        )
        self.child(
            "database",
            postgresql.Database,
            postgresql.DatabaseArgs(
                resource_group_name=rg, server_name=server.name, database_name=DATABASE, charset="UTF8"
            ),
            stateful=True,
        )
        self.child(
            "extensions",
            postgresql.Configuration,
            postgresql.ConfigurationArgs(
                resource_group_name=rg,
                server_name=server.name,
                configuration_name="azure.extensions",
                value="VECTOR",
                source="user-override",
            ),
        )
        self.child(
            "admin",
            postgresql.AdministratorsMicrosoftEntra,
            postgresql.AdministratorsMicrosoftEntraArgs(
                resource_group_name=rg,
                server_name=server.name,
                object_id=args.admin.object_id,
                principal_name=args.admin.name,
                principal_type=args.admin.principal_type,
                tenant_id=args.tenant_id,
            ),
        )
        if args.delete_lock:
            self.child(
                "lock",
                authorization.ManagementLockByScope,
                authorization.ManagementLockByScopeArgs(
                    scope=server.id, level="CanNotDelete", notes="Holds the platform's documents and embeddings"
                ),
            )
        self.server = server
        self._server_name = server.name
        self.server_id = server.id
        self.host = server.fully_qualified_domain_name.apply(lambda h: h or "")
        self.register_outputs({"host": self.host, "serverId": server.id})


def bootstrap_sql(role: str, object_id: str) -> str:
    """What the Entra administrator runs once, after the first ``pulumi up``: the app's role (a
    managed identity, by object id), the vector extension (only an admin may create it) and the
    app's rights in its database (it creates its own tables at start). Idempotent."""
    quoted = '"' + role.replace('"', '""') + '"'
    literal = role.replace("'", "''")
    return (
        "-- psql as the Entra administrator, connected to the database postgres\n"
        f"SELECT pgaadauth_create_principal_with_oid('{literal}', '{object_id}', 'service', false, false)\n"
        f"  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{literal}');\n"
        f"\\connect {DATABASE}\n"
        "CREATE EXTENSION IF NOT EXISTS vector;\n"
        f"GRANT CONNECT, TEMPORARY ON DATABASE {DATABASE} TO {quoted};\n"
        f"GRANT USAGE, CREATE ON SCHEMA public TO {quoted};\n"
    )


def _validate(args: VectorStoreArgs) -> None:
    if args.admin.principal_type not in ("Group", "ServicePrincipal"):
        raise ValueError(
            f"VectorStoreArgs.admin.principal_type={args.admin.principal_type!r}: allowed Group or ServicePrincipal"
        )
    if not 7 <= args.backup_retention_days <= 35:
        raise ValueError(f"VectorStoreArgs.backup_retention_days={args.backup_retention_days}: allowed 7 to 35")
    if args.zone_redundant and args.tier == "Burstable":
        raise ValueError("VectorStoreArgs.tier='Burstable': zone-redundant HA needs GeneralPurpose or MemoryOptimized")
    if args.tier not in ("Burstable", "GeneralPurpose", "MemoryOptimized"):
        raise ValueError(f"VectorStoreArgs.tier={args.tier!r}: allowed Burstable, GeneralPurpose, MemoryOptimized")
