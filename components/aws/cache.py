"""Cache: an ElastiCache Redis replication group, TLS-only, encrypted at rest with the platform key,
AUTH token, in private subnets behind a security group that admits only the given sources."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.data_store import DataStoreBlock, known_length, validate_windows
from components.aws.logs import log_group
from components.base import BlockArgs

#: ElastiCache AUTH tokens: 16-128 printable characters; the only special characters allowed are these.
AUTH_TOKEN_SPECIALS = "!&#$^<>-"
_AUTH_TOKEN_CHARS = set(string.ascii_letters + string.digits + AUTH_TOKEN_SPECIALS)
MAXMEMORY_POLICIES = (
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
)


@dataclass(kw_only=True)
class CacheArgs(BlockArgs):
    """Inputs of :class:`Cache`."""

    vpc_id: pulumi.Input[str]
    """VPC of the security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets (one per AZ) of the subnet group; at least two for multi-AZ (checked when
    given as a list; ``Network.private_subnet_ids``, an output, is checked by AWS)."""
    auth_token: pulumi.Input[str]
    """Redis AUTH token (a Pulumi secret, e.g. ``config.require_secret("redisAuthToken")``): 16-128
    characters, letters, digits and ``!&#$^<>-`` only (ElastiCache's rule). Checked when plain."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for encryption at rest (snapshots included)."""
    node_type: str = "cache.t4g.small"
    """Default cache.t4g.small (1.37 GiB): ~25 USD/month per node on demand (eu-west-1/us-east-1)."""
    engine_version: str = "7.1"
    """Redis OSS 7.1, the last Redis OSS line ElastiCache offers."""
    num_cache_clusters: int = 1
    """Nodes (primary + replicas), 1..6. Default 1 (dev); 2+ for automatic failover (prod)."""
    automatic_failover: bool | None = None
    """Promote a replica when the primary fails; default: on when ``num_cache_clusters >= 2``."""
    multi_az: bool = False
    """Place the replica in another AZ than the primary; needs automatic failover and 2+ nodes."""
    snapshot_retention_days: int = 1
    """Daily snapshots kept (0..35; 0 disables). Default 1: a cache can be rebuilt, one day eases restores."""
    snapshot_window: str = "02:00-03:00"
    """Daily snapshot window (UTC), must not overlap the maintenance window."""
    maintenance_window: str = "sun:04:00-sun:05:00"
    """Weekly maintenance window (UTC), at the quietest hour."""
    port: int = 6379
    allowed_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Sources admitted on ``port`` (the container service's SG). Default none: add later with ``allow_from``."""
    maxmemory_policy: str = "volatile-lru"
    """Eviction when memory is full. Default volatile-lru: response-cache entries carry a TTL and are
    evicted least-recently-used first, while keys the app writes without a TTL (token budgets,
    rate-limit state) are never evicted silently; allkeys-lru would drop those too and let limits
    reset under memory pressure. The Redis memory alarm (80 %) warns well before writes fail."""
    log_retention_days: int = 30
    """Retention of the slow-log and engine-log groups (a CloudWatch retention value)."""
    apply_immediately: bool = False
    """Apply modifications now rather than in the maintenance window. Default False: no surprise failovers."""


class Cache(DataStoreBlock):
    """ElastiCache Redis (OSS) replication group with TLS, at-rest KMS, AUTH and log delivery.

    Transform keys: ``securityGroup``, ``subnetGroup``, ``parameterGroup``, ``slowLog``,
    ``engineLog``, ``replicationGroup``, ``ingress:<key>``.
    """

    primary_endpoint_address: pulumi.Output[str]
    """Host of the primary (read/write) endpoint; clients connect with TLS and AUTH."""
    reader_endpoint_address: pulumi.Output[str]
    """Host of the reader endpoint (the replica in a second zone when there is one)."""
    port: pulumi.Output[int]
    """The Redis port."""
    security_group_id: pulumi.Output[str]
    """The cache's security group (ingress only from the groups allowed with ``allow_from``)."""
    replication_group_id: pulumi.Output[str]
    """Id of the ElastiCache replication group."""
    replication_group_arn: pulumi.Output[str]
    """ARN of the ElastiCache replication group."""
    member_cluster_ids: list[pulumi.Output[str]]
    """``<replication group id>-001`` ... one per node, known at plan time (for per-node alarms)."""

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        failover = _validate(name, args)
        super().__init__("ai-platform:aws:Cache", name, args, opts)
        sg = self._private_security_group(args.vpc_id, args.port, "Redis (TLS)", args.allowed_security_group_ids)
        subnet_group = self.child(
            "subnetGroup",
            aws.elasticache.SubnetGroup,
            aws.elasticache.SubnetGroupArgs(description=f"Redis {name} private subnets", subnet_ids=args.subnet_ids),
            name="subnets",
        )
        family = "redis7"
        parameters = self.child(
            "parameterGroup",
            aws.elasticache.ParameterGroup,
            aws.elasticache.ParameterGroupArgs(
                family=family,
                description=f"Redis {name}: {args.maxmemory_policy} eviction",
                parameters=[
                    aws.elasticache.ParameterGroupParameterArgs(name="maxmemory-policy", value=args.maxmemory_policy),
                ],
            ),
            name="params",
        )
        slow_log, engine_log = (
            log_group(self, key, retention_days=args.log_retention_days, kms_key_arn=args.kms_key_arn, name=log_name)
            for key, log_name in (("slowLog", "slow-log"), ("engineLog", "engine-log"))
        )

        group = self.child(
            "replicationGroup",
            aws.elasticache.ReplicationGroup,
            aws.elasticache.ReplicationGroupArgs(
                description=f"Redis cache {name}",
                engine="redis",
                engine_version=args.engine_version,
                node_type=args.node_type,
                cluster_mode="disabled",
                num_cache_clusters=args.num_cache_clusters,
                automatic_failover_enabled=failover,
                multi_az_enabled=args.multi_az,
                port=args.port,
                parameter_group_name=parameters.name,
                subnet_group_name=subnet_group.name,
                security_group_ids=[sg.id],
                network_type="ipv4",
                at_rest_encryption_enabled=True,
                kms_key_id=args.kms_key_arn,
                transit_encryption_enabled=True,
                transit_encryption_mode="required",
                auth_token=pulumi.Output.secret(args.auth_token),
                auto_minor_version_upgrade=True,
                apply_immediately=args.apply_immediately,
                maintenance_window=args.maintenance_window,
                snapshot_retention_limit=args.snapshot_retention_days,
                snapshot_window=args.snapshot_window if args.snapshot_retention_days > 0 else None,
                log_delivery_configurations=[
                    aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                        destination=lg.name, destination_type="cloudwatch-logs", log_format="json", log_type=kind
                    )
                    for kind, lg in (("slow-log", slow_log), ("engine-log", engine_log))
                ],
            ),
            name="redis",
            stateful=True,
        )
        self.primary_endpoint_address = group.primary_endpoint_address
        self.reader_endpoint_address = group.reader_endpoint_address
        self.port = group.port.apply(lambda p: p if p is not None else args.port)
        self.replication_group_id = group.id
        self.replication_group_arn = group.arn
        self.member_cluster_ids = [
            group.id.apply(lambda gid, n=n: f"{gid}-{n:03d}") for n in range(1, args.num_cache_clusters + 1)
        ]
        self.register_outputs(
            {
                "primaryEndpointAddress": group.primary_endpoint_address,
                "readerEndpointAddress": group.reader_endpoint_address,
                "port": self.port,
                "securityGroupId": sg.id,
                "replicationGroupId": group.id,
                "memberClusterIds": self.member_cluster_ids,
            }
        )


def _validate(name: str, args: CacheArgs) -> bool:
    """Check the args against ElastiCache's rules; return whether automatic failover is on."""
    # The replication group id is auto-named "<name>-redis-<7 chars>": at most 40 characters,
    # lowercase (the provider rejects upper case), a letter first, then letters, digits and single hyphens.
    if len(name) > 26 or not re.match(r"^[a-z](-?[a-z0-9])*$", name):
        raise ValueError(
            f"Cache name={name!r} is invalid: at most 26 characters, lowercase letters, digits and single hyphens, "
            "a letter first (it becomes the ElastiCache replication group id)"
        )
    if isinstance(args.auth_token, str):
        token = args.auth_token
        bad = sorted(set(token) - _AUTH_TOKEN_CHARS)
        if not 16 <= len(token) <= 128 or bad:
            # Never echo the token itself.
            raise ValueError(
                f"CacheArgs.auth_token is invalid (length {len(token)}, disallowed characters {bad}): "
                f"allowed 16-128 characters, letters, digits and {AUTH_TOKEN_SPECIALS}"
            )
    if not 1 <= args.num_cache_clusters <= 6:
        raise ValueError(f"CacheArgs.num_cache_clusters={args.num_cache_clusters} is invalid: allowed 1..6")
    failover = args.automatic_failover if args.automatic_failover is not None else args.num_cache_clusters >= 2
    if failover and args.num_cache_clusters < 2:
        raise ValueError(
            f"CacheArgs.automatic_failover=True needs num_cache_clusters >= 2, got {args.num_cache_clusters}"
        )
    if args.multi_az and (not failover or args.num_cache_clusters < 2):
        raise ValueError(
            f"CacheArgs.multi_az=True needs automatic failover and num_cache_clusters >= 2, "
            f"got num_cache_clusters={args.num_cache_clusters}, automatic_failover={failover}"
        )
    subnets = known_length(args.subnet_ids)
    if subnets == 0:
        raise ValueError("CacheArgs.subnet_ids is empty: give the private subnets")
    if args.multi_az and subnets is not None and subnets < 2:
        raise ValueError(f"CacheArgs.multi_az=True needs subnets in 2+ AZs, got {subnets} subnet_ids")
    if not args.node_type.startswith("cache."):
        raise ValueError(
            f"CacheArgs.node_type={args.node_type!r} is invalid: expected a cache node type like 'cache.t4g.small'"
        )
    if not re.match(r"^7\.\d+$", args.engine_version):
        # transit_encryption_mode needs Redis OSS 7.0.5+; the parameter group family is redis7.
        raise ValueError(
            f"CacheArgs.engine_version={args.engine_version!r} is invalid: expected Redis OSS '7.x' like '7.1'"
        )
    if not 0 <= args.snapshot_retention_days <= 35:
        raise ValueError(f"CacheArgs.snapshot_retention_days={args.snapshot_retention_days} is invalid: allowed 0..35")
    if args.maxmemory_policy not in MAXMEMORY_POLICIES:
        raise ValueError(
            f"CacheArgs.maxmemory_policy={args.maxmemory_policy!r} is invalid: allowed {MAXMEMORY_POLICIES}"
        )
    if not 1 <= args.port <= 65535:
        raise ValueError(f"CacheArgs.port={args.port} is invalid: allowed 1..65535")
    # ElastiCache: maintenance window and snapshot window at least 60 minutes each, disjoint.
    validate_windows(
        "CacheArgs",
        ("maintenance_window", args.maintenance_window),
        ("snapshot_window", args.snapshot_window) if args.snapshot_retention_days > 0 else None,
        min_weekly_minutes=60,
        min_daily_minutes=60,
    )
    return failover
