"""Cache: Memorystore for Redis over Private Service Access, AUTH on, TLS (server
authentication), RDB snapshots, customer-managed key; STANDARD_HA (a replica with automatic
failover) unless the stack is dev.

Memorystore generates the AUTH string itself; :attr:`Cache.auth_string` (a secret output) goes
to the secret store, so the app reads it from Secret Manager like every other secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp.redis as redis

from components.base import Block
from components.gcp.apis import GcpArgs, after


@dataclass(kw_only=True)
class CacheArgs(GcpArgs):
    """Inputs of :class:`Cache`. Child keys for ``transform``: ``instance``."""

    region: str
    """Region of the instance."""
    network_id: pulumi.Input[str]
    """VPC network the instance is reachable from (over Private Service Access)."""
    psa_connection: pulumi.Resource | None = None
    """The Private Service Access connection (``Network.psa_connection``): the instance is created
    only after it. ``None``: the caller orders the block after the connection through
    ``depends_on`` (a program in another language: ``dependsOn: [network]``); the readiness check
    ``psa-before-private-data`` finds an instance that waits for no connection."""
    tier: Literal["STANDARD_HA", "BASIC"] = "STANDARD_HA"
    """STANDARD_HA: a replica in another zone with automatic failover; BASIC (dev): one node."""
    memory_size_gb: int = 1
    """Memory of the instance, 1-300 GB."""
    redis_version: str = "REDIS_7_2"
    """Memorystore's Redis version."""
    kms_key_name: pulumi.Input[str] | None = None
    """Customer-managed key for the instance's data; ``None`` uses Google-managed encryption."""
    wait_for: list[pulumi.Resource] = field(default_factory=list)
    """The Memorystore agent's key binding."""
    auth_enabled: bool = True
    """Redis AUTH; always on (``False`` is refused)."""
    transit_encryption: bool = True
    """TLS with server authentication; always on (``False`` is refused)."""
    deletion_protection: bool = True
    """Memorystore's own deletion protection (the API refuses to delete the instance); off only in
    dev or through the opt-out ``insecure.disableDeletionProtection``. Pulumi's ``protect`` follows
    ``protect``, which has its own opt-out (``insecure.unprotectStatefulResources``)."""
    snapshot_period: Literal["ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"] = "TWELVE_HOURS"
    """How often an RDB snapshot is taken."""


class Cache(Block):
    """Memorystore for Redis over Private Service Access: AUTH, TLS, RDB snapshots, a
    customer-managed key, STANDARD_HA unless dev. Without ``psa_connection`` (the ``GcpCache``
    facade: a resource cannot cross languages) the caller orders it after the connection: give the
    facade ``dependsOn: [network]`` (the ``GcpNetwork``)."""

    host: pulumi.Output[str]
    """Private IP address of the instance."""
    port: pulumi.Output[int]
    """Port of the instance (TLS)."""
    auth_string: pulumi.Output[str]
    """The AUTH string Memorystore generated (a secret)."""
    instance_id: pulumi.Output[str]
    """The instance's name, for the memory alert's filter."""
    ca_certificate: pulumi.Output[str]
    """PEM of the per-instance CA that signed the server's TLS certificate: clients must trust it."""

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not args.auth_enabled:
            raise ValueError("CacheArgs.auth_enabled=False: every VPC host can reach the cache, AUTH stays on")
        if not args.transit_encryption:
            raise ValueError("CacheArgs.transit_encryption=False: the cache speaks TLS only (SERVER_AUTHENTICATION)")
        if args.tier not in ("STANDARD_HA", "BASIC"):
            raise ValueError(f"CacheArgs.tier={args.tier!r}: allowed STANDARD_HA or BASIC (dev)")
        if not 1 <= args.memory_size_gb <= 300:
            raise ValueError(f"CacheArgs.memory_size_gb={args.memory_size_gb}: must be 1-300")
        super().__init__("ai-platform:gcp:Cache", name, args, opts)
        instance = self.child(
            "instance",
            redis.Instance,
            redis.InstanceArgs(
                project=args.project,
                region=args.region,
                tier=args.tier,
                memory_size_gb=args.memory_size_gb,
                redis_version=args.redis_version,
                authorized_network=args.network_id,
                connect_mode="PRIVATE_SERVICE_ACCESS",
                auth_enabled=True,
                transit_encryption_mode="SERVER_AUTHENTICATION",
                customer_managed_key=args.kms_key_name,
                persistence_config=redis.InstancePersistenceConfigArgs(
                    persistence_mode="RDB", rdb_snapshot_period=args.snapshot_period
                ),
                deletion_protection=args.deletion_protection,
            ),
            after(args, args.psa_connection, *args.wait_for),
            name="redis",
            stateful=True,
        )
        self.host = instance.host
        self.port = instance.port
        self.auth_string = instance.auth_string
        self.instance_id = instance.name
        self.ca_certificate = instance.server_ca_certs.apply(lambda certs: "".join(c.cert or "" for c in certs or []))
        self.register_outputs({"host": self.host, "port": self.port})
