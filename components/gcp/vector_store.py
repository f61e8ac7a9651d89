"""VectorStore: Cloud SQL for PostgreSQL (pgvector) on a private IP only, client certificates
required (the Cloud SQL connector or Auth Proxy supplies them), IAM database authentication,
REGIONAL availability, backups with point-in-time recovery, both deletion protections, audit
and connection logging, customer-managed key.

The app signs in as its service account (an IAM user: no password anywhere);
:meth:`VectorStore.grant_connect` creates that user and the two roles it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp.projects as projects
import pulumi_gcp.sql as sql

from components.base import Block
from components.gcp.apis import GcpArgs, after
from components.gcp.spec import NEWEST_POSTGRES, postgres_version

#: flags every instance gets: IAM sign-in, connection and lock logging, pgaudit for DDL
DATABASE_FLAGS = (
    ("cloudsql.iam_authentication", "on"),
    ("log_connections", "on"),
    ("log_disconnections", "on"),
    ("log_checkpoints", "on"),
    ("log_lock_waits", "on"),
    ("cloudsql.enable_pgaudit", "on"),
    ("log_statement", "ddl"),
    ("log_min_error_statement", "error"),
)
CONNECT_ROLES = ("roles/cloudsql.client", "roles/cloudsql.instanceUser")
SslMode = Literal["TRUSTED_CLIENT_CERTIFICATE_REQUIRED", "ENCRYPTED_ONLY"]


@dataclass(kw_only=True)
class VectorStoreArgs(GcpArgs):
    """Inputs of :class:`VectorStore`. Child keys for ``transform``: ``instance``, ``database``,
    ``user``, ``connect-<role>``."""

    region: str
    """Region of the instance."""
    network_id: pulumi.Input[str]
    """VPC network the instance's private IP is in (over Private Service Access)."""
    psa_connection: pulumi.Resource | None = None
    """The Private Service Access connection (``Network.psa_connection``): the instance is created
    only after it. ``None``: the caller orders the block after the connection through
    ``depends_on`` (a program in another language: ``dependsOn: [network]``); the readiness check
    ``psa-before-private-data`` finds an instance that waits for no connection."""
    database_version: str = NEWEST_POSTGRES
    """Cloud SQL's PostgreSQL version (POSTGRES_<major>, a version pgvector supports)."""
    tier: str = "db-custom-2-7680"
    """Machine tier of the instance."""
    availability: Literal["REGIONAL", "ZONAL"] = "REGIONAL"
    """REGIONAL: a standby in another zone with automatic failover; ZONAL (dev): one zone."""
    backup_retention_days: int = 14
    """Daily backups kept, 1-365 (point-in-time recovery covers up to 7 days of them)."""
    deletion_protection: bool = True
    """Both deletion protections: Cloud SQL's own and the provider's (each refuses to delete the instance)."""
    ssl_mode: SslMode = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    """ENCRYPTED_ONLY only through the opt-out ``gcp.insecure.sqlEncryptedOnly``."""
    public_ip: bool = False
    """A public IP beside the private one: only through the opt-out ``gcp.insecure.sqlPublicIp``
    (no authorized networks: only the connector and the Auth Proxy reach it)."""
    authorized_networks: list[str] = field(default_factory=list)
    """Always empty (any entry is refused): reach the instance over its private IP or the connector."""
    kms_key_name: pulumi.Input[str] | None = None
    """Customer-managed key for the instance's data; ``None`` uses Google-managed encryption."""
    wait_for: list[pulumi.Resource] = field(default_factory=list)
    """The Cloud SQL agent's key binding."""
    database_name: str = "ai"
    """The database created for the app."""


class VectorStore(Block):
    """Cloud SQL for PostgreSQL (pgvector) on a private IP only: client certificates, IAM sign-in,
    REGIONAL availability, point-in-time recovery, a customer-managed key. Without
    ``psa_connection`` (the ``GcpVectorStore`` facade: a resource cannot cross languages) the caller
    orders it after the connection: give the facade ``dependsOn: [network]`` (the ``GcpNetwork``)."""

    connection_name: pulumi.Output[str]
    """``project:region:instance``: what the connector and the proxy take."""
    private_ip: pulumi.Output[str]
    """Private IP address of the instance."""
    database_name: pulumi.Output[str]
    """Name of the app's database."""
    instance_name: pulumi.Output[str]
    """Name of the Cloud SQL instance."""

    def __init__(self, name: str, args: VectorStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.authorized_networks:
            raise ValueError(
                f"VectorStoreArgs.authorized_networks={args.authorized_networks}: none allowed (reach the instance "
                "over its private IP, or through the connector or Auth Proxy)"
            )
        if args.ssl_mode not in ("TRUSTED_CLIENT_CERTIFICATE_REQUIRED", "ENCRYPTED_ONLY"):
            raise ValueError(
                f"VectorStoreArgs.ssl_mode={args.ssl_mode!r}: allowed TRUSTED_CLIENT_CERTIFICATE_REQUIRED "
                "(or ENCRYPTED_ONLY through an opt-out); unencrypted connections are refused"
            )
        problem = postgres_version(args.database_version)
        if problem:
            raise ValueError(f"VectorStoreArgs.database_version={args.database_version!r}: {problem}")
        if not 1 <= args.backup_retention_days <= 365:
            raise ValueError(f"VectorStoreArgs.backup_retention_days={args.backup_retention_days}: must be 1-365")
        super().__init__("ai-platform:gcp:VectorStore", name, args, opts)
        self._args = args
        instance = self.child(
            "instance",
            sql.DatabaseInstance,
            sql.DatabaseInstanceArgs(
                project=args.project,
                region=args.region,
                database_version=args.database_version,
                encryption_key_name=args.kms_key_name,
                deletion_protection=args.deletion_protection,
                settings=sql.DatabaseInstanceSettingsArgs(
                    tier=args.tier,
                    edition="ENTERPRISE",
                    availability_type=args.availability,
                    deletion_protection_enabled=args.deletion_protection,
                    user_labels=dict(args.tags),
                    ip_configuration=sql.DatabaseInstanceSettingsIpConfigurationArgs(
                        ipv4_enabled=args.public_ip,
                        private_network=args.network_id,
                        ssl_mode=args.ssl_mode,
                    ),
                    backup_configuration=sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                        enabled=True,
                        point_in_time_recovery_enabled=True,
                        transaction_log_retention_days=min(7, args.backup_retention_days),
                        backup_retention_settings=sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                            retained_backups=args.backup_retention_days, retention_unit="COUNT"
                        ),
                    ),
                    database_flags=[
                        sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=flag, value=value)
                        for flag, value in DATABASE_FLAGS
                    ],
                    insights_config=sql.DatabaseInstanceSettingsInsightsConfigArgs(query_insights_enabled=True),
                ),
            ),
            after(args, args.psa_connection, *args.wait_for),
            name="postgres",
            stateful=True,
        )
        database = self.child(
            "database",
            sql.Database,
            sql.DatabaseArgs(project=args.project, instance=instance.name, name=args.database_name),
            name="db",
            stateful=True,
        )
        self._instance = instance
        self.connection_name = instance.connection_name
        self.private_ip = instance.private_ip_address
        self.database_name = database.name
        self.instance_name = instance.name
        self.register_outputs({"connectionName": self.connection_name, "privateIp": self.private_ip})

    def grant_connect(self, email: pulumi.Input[str], member: pulumi.Input[str]) -> list[pulumi.Resource]:
        """Let the service account ``email`` sign in with IAM: its database user (named as Cloud SQL
        names IAM users: the email without ``.gserviceaccount.com``) and the connect and login roles."""
        user = self.child(
            "user",
            sql.User,
            sql.UserArgs(
                project=self._args.project,
                instance=self._instance.name,
                name=pulumi.Output.from_input(email).apply(lambda e: e.removesuffix(".gserviceaccount.com")),
                type="CLOUD_IAM_SERVICE_ACCOUNT",
            ),
            name="app-user",
        )
        roles: list[pulumi.Resource] = [
            self.child(
                f"connect-{role}",
                projects.IAMMember,
                projects.IAMMemberArgs(project=self._args.project, role=role, member=member),
                name=role.rsplit(".", 1)[-1],
            )
            for role in CONNECT_ROLES
        ]
        return [user, *roles]
