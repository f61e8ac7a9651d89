"""VectorStore: Aurora PostgreSQL Serverless v2 for pgvector, encrypted with the platform key, private,
TLS-only, with a Secrets Manager-managed master password and IAM database authentication."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.data_store import DataStoreBlock, known_length, validate_windows
from components.aws.iam import service_role
from components.aws.logs import log_group
from components.aws.policy_documents import AwsContext, Statement, aws_context, service_assume_role_policy
from components.base import BlockArgs

#: PostgreSQL's reserved key words (PG 16, appendix C "reserved"): not a user or database name.
PG_RESERVED_WORDS = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "system_user",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ]
)
#: Names Aurora PostgreSQL refuses for the master user: its own roles, and ``admin`` ("a reserved word
#: used by the engine"; ``postgres`` is allowed). ``pg_*`` is reserved by PostgreSQL itself.
RDS_RESERVED_ROLES = frozenset(
    {"admin", "rdsadmin", "rdsrepladmin", "rdstopmgr", "rds_superuser", "rds_replication", "rds_password", "rds_iam"}
)
#: Databases every Aurora PostgreSQL cluster already has.
EXISTING_DATABASES = frozenset({"postgres", "template0", "template1", "rdsadmin"})
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_ENGINE_VERSION = re.compile(r"^(16|17)\.(\d+)$")
#: Enhanced Monitoring intervals RDS accepts (seconds); 0 turns it off.
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)


@dataclass(kw_only=True)
class VectorStoreArgs(BlockArgs):
    """Inputs of :class:`VectorStore`."""

    vpc_id: pulumi.Input[str]
    """VPC of the cluster's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets in 2+ AZs (RDS requires a subnet group spanning two AZs; checked when given
    as a list, by AWS when given as an output such as ``Network.private_subnet_ids``)."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for storage, the master-user secret and Performance Insights."""
    engine_version: str = "16.6"
    """Aurora PostgreSQL 16.6 (Serverless v2; pgvector with HNSW indexes, enabled per database with
    ``CREATE EXTENSION vector``). 16.4+ or 17.x accepted; check the pgvector version of a minor in the
    Aurora release notes before pinning it."""
    min_capacity: float = 0.5
    """Minimum ACUs. Default 0.5 (~44 USD/month per instance at 0.12 USD/ACU-hour, idle floor). 0 enables
    auto-pause (16.3+), but resuming takes ~15 s, which breaks the 2.5 s latency target, so it is not the default."""
    max_capacity: float = 4.0
    """Maximum ACUs (0.5..256, in steps of 0.5). Default 4 (8 GiB) caps cost at ~350 USD/month per instance."""
    seconds_until_auto_pause: int = 300
    """Only with ``min_capacity=0``: idle seconds before pausing (300..86400)."""
    instance_count: int = 1
    """Serverless v2 instances. Default 1 (dev); 2 in prod gives a reader in another AZ for failover."""
    availability_zones: pulumi.Input[Sequence[str]] | None = None
    """AZs for the instances, in order: instance i goes to AZ i mod n, so with 2 instances the reader
    sits in another AZ than the writer. Pass ``Network.availability_zones``. Default ``None``: RDS
    chooses, which does not guarantee a second AZ."""
    database_name: str = "aiplatform"
    master_username: str = "aiplatform_admin"
    """Master user (1..63 letters, digits, ``_``; a letter first; not a reserved word or RDS role)."""
    deletion_protection: bool = False
    """Default False (dev); True in prod."""
    skip_final_snapshot: bool = True
    """Default True (dev); False in prod, where ``<project>-<stack>-<name>-final`` is taken on delete."""
    backup_retention_days: int = 1
    """Automated backups kept (1..35). Default 1 (dev, free); 14 in prod."""
    log_retention_days: int = 30
    """Retention of the exported PostgreSQL log (``/aws/rds/cluster/<id>/postgresql``, KMS-encrypted)."""
    preferred_backup_window: str = "02:00-03:00"
    """Daily backup window (UTC); must not overlap the maintenance window."""
    preferred_maintenance_window: str = "sun:04:00-sun:05:00"
    port: int = 5432
    allowed_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Sources admitted on ``port`` (the container service's SG). Default none: add later with ``allow_from``."""
    performance_insights_retention_days: int = 7
    """Performance Insights retention: 7 (free tier) or a multiple of 31 up to 731."""
    slow_statement_ms: int = 1000
    """``log_min_duration_statement``: statements slower than this are logged (ms; -1 disables)."""
    apply_immediately: bool = False
    """Apply modifications now rather than in the maintenance window. Default False."""
    monitoring_interval_seconds: int = 0
    """Enhanced Monitoring (OS metrics per instance, into CloudWatch Logs ``RDSOSMetrics``): one of
    1, 5, 10, 15, 30, 60 seconds, with a monitoring role made here; 0 (default, dev) turns it off.
    ``AiPlatform`` uses 60 in prod (a few USD/month per instance)."""


class VectorStore(DataStoreBlock):
    """Aurora PostgreSQL Serverless v2 cluster (pgvector) with its instances, subnet group,
    TLS-forcing parameter group and a security group open only to allowed sources.

    Transform keys: ``securityGroup``, ``subnetGroup``, ``clusterParameterGroup``, ``cluster``,
    ``instance<i>`` (``instance0``, ``instance1``...), ``ingress:<key>``, and with Enhanced
    Monitoring ``monitoringRole``, ``monitoringRoleManaged<i>``.
    """

    cluster_identifier: pulumi.Output[str]
    """Identifier of the Aurora cluster."""
    cluster_arn: pulumi.Output[str]
    """ARN of the Aurora cluster."""
    cluster_resource_id: pulumi.Output[str]
    """Resource id of the cluster (IAM database authentication's resource)."""
    endpoint: pulumi.Output[str]
    """Writer endpoint of the cluster."""
    reader_endpoint: pulumi.Output[str]
    """Reader endpoint of the cluster."""
    port: pulumi.Output[int]
    """The PostgreSQL port."""
    database_name: pulumi.Output[str]
    """Name of the database the app uses."""
    master_username: pulumi.Output[str]
    """The master user (its password is managed by RDS in Secrets Manager)."""
    master_user_secret_arn: pulumi.Output[str]
    """ARN of the Secrets Manager secret RDS keeps the master password in."""
    security_group_id: pulumi.Output[str]
    """The cluster's security group (ingress only from the groups allowed with ``allow_from``)."""
    instance_identifiers: list[pulumi.Output[str]]
    """Identifiers of the cluster's instances."""

    def __init__(self, name: str, args: VectorStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        major = _validate(name, args)
        super().__init__("ai-platform:aws:VectorStore", name, args, opts)
        self._context = aws_context(self)
        sg = self._private_security_group(args.vpc_id, args.port, "PostgreSQL (TLS)", args.allowed_security_group_ids)
        subnet_group = self.child(
            "subnetGroup",
            aws.rds.SubnetGroup,
            aws.rds.SubnetGroupArgs(description=f"Aurora {name} private subnets", subnet_ids=args.subnet_ids),
            name="subnets",
        )
        parameters = self.child(
            "clusterParameterGroup",
            aws.rds.ClusterParameterGroup,
            aws.rds.ClusterParameterGroupArgs(
                family=f"aurora-postgresql{major}",
                description=f"Aurora PostgreSQL {name}: TLS only, connection and slow-statement logging",
                parameters=[
                    aws.rds.ClusterParameterGroupParameterArgs(name=p, value=v, apply_method="immediate")
                    for p, v in (
                        # TLS only; Aurora PostgreSQL 16's ssl_min_protocol_version default is already TLSv1.2.
                        ("rds.force_ssl", "1"),
                        ("log_connections", "1"),
                        ("log_disconnections", "1"),
                        ("log_min_duration_statement", str(args.slow_statement_ms)),
                        ("log_statement", "ddl"),
                    )
                ],
            ),
            name="cluster-params",
        )
        scaling = aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
            min_capacity=args.min_capacity,
            max_capacity=args.max_capacity,
            seconds_until_auto_pause=args.seconds_until_auto_pause if args.min_capacity == 0 else None,
        )
        final_snapshot = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-final"
        # A fixed identifier lets the exported log's group exist first, with retention and KMS;
        # otherwise RDS creates /aws/rds/cluster/<id>/postgresql itself, kept forever, unencrypted.
        identifier = cluster_identifier(f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}")
        postgresql_log = log_group(
            self,
            "postgresqlLog",
            retention_days=args.log_retention_days,
            kms_key_arn=args.kms_key_arn,
            name="postgresql-log",
            log_group_name=f"/aws/rds/cluster/{identifier}/postgresql",
        )
        cluster = self.child(
            "cluster",
            aws.rds.Cluster,
            aws.rds.ClusterArgs(
                cluster_identifier=identifier,
                engine="aurora-postgresql",
                engine_mode="provisioned",
                engine_version=args.engine_version,
                database_name=args.database_name,
                master_username=args.master_username,
                manage_master_user_password=True,
                master_user_secret_kms_key_id=args.kms_key_arn,
                iam_database_authentication_enabled=True,
                storage_encrypted=True,
                kms_key_id=args.kms_key_arn,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[sg.id],
                db_cluster_parameter_group_name=parameters.name,
                port=args.port,
                network_type="IPV4",
                serverlessv2_scaling_configuration=scaling,
                backup_retention_period=args.backup_retention_days,
                preferred_backup_window=args.preferred_backup_window,
                preferred_maintenance_window=args.preferred_maintenance_window,
                copy_tags_to_snapshot=True,
                deletion_protection=args.deletion_protection,
                skip_final_snapshot=args.skip_final_snapshot,
                final_snapshot_identifier=None if args.skip_final_snapshot else _snapshot_id(final_snapshot),
                delete_automated_backups=args.skip_final_snapshot,
                enabled_cloudwatch_logs_exports=["postgresql"],
                apply_immediately=args.apply_immediately,
                allow_major_version_upgrade=False,
            ),
            pulumi.ResourceOptions(depends_on=[postgresql_log]),
            name="cluster",
            stateful=True,
        )
        monitoring = (
            service_role(
                self,
                "monitoringRole",
                name="monitoring",
                trust_policy=self._context.apply(
                    lambda c: service_assume_role_policy("monitoring.rds.amazonaws.com", c.account_id)
                ),
                description=f"RDS Enhanced Monitoring of {name}: OS metrics to CloudWatch Logs",
                policy=None,
                managed_policy_arns=[
                    self._context.apply(
                        lambda c: f"arn:{c.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
                    )
                ],
            )
            if args.monitoring_interval_seconds
            else None
        )
        self.instance_identifiers = []
        zones = None if args.availability_zones is None else pulumi.Output.from_input(args.availability_zones)
        for index in range(args.instance_count):
            instance = self.child(
                f"instance{index}",
                aws.rds.ClusterInstance,
                aws.rds.ClusterInstanceArgs(
                    cluster_identifier=cluster.id,
                    engine=aws.rds.EngineType.AURORA_POSTGRESQL,
                    engine_version=cluster.engine_version,
                    instance_class="db.serverless",
                    db_subnet_group_name=subnet_group.name,
                    availability_zone=None if zones is None else zones.apply(lambda z, i=index: _zone(z, i)),
                    publicly_accessible=False,
                    # The writer's failover target first: the first reader gets tier 1.
                    promotion_tier=min(index, 15),
                    performance_insights_enabled=True,
                    performance_insights_kms_key_id=args.kms_key_arn,
                    performance_insights_retention_period=args.performance_insights_retention_days,
                    auto_minor_version_upgrade=True,
                    ca_cert_identifier="rds-ca-rsa2048-g1",
                    copy_tags_to_snapshot=True,
                    apply_immediately=args.apply_immediately,
                    monitoring_interval=args.monitoring_interval_seconds or None,
                    monitoring_role_arn=monitoring.role.arn if monitoring else None,
                ),
                # RDS rejects a monitoring role that does not have its policy yet
                pulumi.ResourceOptions(depends_on=monitoring.policies if monitoring else []),
                name=f"instance-{index}",
            )
            self.instance_identifiers.append(instance.identifier)
        self.cluster_identifier = cluster.cluster_identifier
        self.cluster_arn = cluster.arn
        self.cluster_resource_id = cluster.cluster_resource_id
        self.endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        self.port = cluster.port
        self.database_name = cluster.database_name
        self.master_username = cluster.master_username
        self.master_user_secret_arn = cluster.master_user_secrets.apply(_master_secret_arn)
        self.register_outputs(
            {
                "clusterIdentifier": cluster.cluster_identifier,
                "clusterResourceId": cluster.cluster_resource_id,
                "endpoint": cluster.endpoint,
                "readerEndpoint": cluster.reader_endpoint,
                "port": cluster.port,
                "databaseName": cluster.database_name,
                "masterUsername": cluster.master_username,
                "masterUserSecretArn": self.master_user_secret_arn,
                "securityGroupId": sg.id,
            }
        )

    def grant_connect(self, db_user: str) -> pulumi.Output[Statement]:
        """The IAM statement that lets a role (the ECS task role) log in as ``db_user`` with an IAM
        token (``rds-db:connect`` on this cluster's resource id and that user only)."""
        if not _IDENTIFIER.match(db_user) or db_user.lower() in PG_RESERVED_WORDS | RDS_RESERVED_ROLES:
            raise ValueError(f"grant_connect db_user={db_user!r} is invalid: a PostgreSQL role name, not reserved")
        return pulumi.Output.all(self._context, self.cluster_resource_id).apply(
            lambda v: _connect_statement(v[0], v[1], db_user)
        )


def _zone(zones: Sequence[str], index: int) -> str:
    if not zones:
        raise ValueError("VectorStoreArgs.availability_zones is empty: give the AZs or leave it None")
    return zones[index % len(zones)]


def _master_secret_arn(secrets: Sequence[aws.rds.outputs.ClusterMasterUserSecret]) -> str:
    arn = secrets[0].secret_arn if secrets else None
    if not arn:
        raise ValueError("the Aurora cluster reported no master user secret although manage_master_user_password=True")
    return arn


def _connect_statement(ctx: AwsContext, resource_id: str, db_user: str) -> Statement:
    return {
        "Sid": "ConnectAsDatabaseUser",
        "Effect": "Allow",
        "Action": ["rds-db:connect"],
        "Resource": f"arn:{ctx.partition}:rds-db:{ctx.region}:{ctx.account_id}:dbuser:{resource_id}/{db_user}",
    }


def cluster_identifier(raw: str) -> str:
    """A valid, stable DB cluster identifier: lowercase letters, digits and single hyphens, a
    letter first, at most 63 characters (a hash keeps long names unique when cut)."""
    cleaned = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw.lower())).strip("-")
    if not cleaned[:1].isalpha():
        cleaned = f"db-{cleaned}"
    if len(cleaned) > 63:
        digest = hashlib.sha256(cleaned.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[:54].rstrip('-')}-{digest}"
    return cleaned


def _snapshot_id(raw: str) -> str:
    """A valid DB snapshot identifier: letters, digits, single hyphens, a letter first, at most 255."""
    cleaned = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", raw)).strip("-")
    if not cleaned[:1].isalpha():
        cleaned = f"snap-{cleaned}"
    return cleaned[:255].rstrip("-")


def _validate(name: str, args: VectorStoreArgs) -> str:
    """Check the args against Aurora's rules; return the engine major version."""
    # Identifiers are auto-named "<name>-instance-<i>-<7 chars>": at most 63 characters,
    # lowercase (the provider rejects upper case in identifiers and parameter group names),
    # a letter first, then letters, digits and single hyphens.
    if len(name) > 42 or not re.match(r"^[a-z](-?[a-z0-9])*$", name):
        raise ValueError(
            f"VectorStore name={name!r} is invalid: at most 42 characters, lowercase letters, digits and single "
            "hyphens, a letter first (it prefixes the RDS cluster, instance and parameter group names)"
        )
    match = _ENGINE_VERSION.match(args.engine_version)
    if not match or (match.group(1) == "16" and int(match.group(2)) < 4):
        raise ValueError(
            f"VectorStoreArgs.engine_version={args.engine_version!r} is invalid: Aurora PostgreSQL 16.4+ or 17.x "
            "(Serverless v2 with pgvector and HNSW)"
        )
    if not (0 <= args.min_capacity <= args.max_capacity <= 256) or args.max_capacity < 1:
        raise ValueError(
            f"VectorStoreArgs.min_capacity={args.min_capacity}, max_capacity={args.max_capacity} are invalid: "
            "0 <= min <= max <= 256 ACU and max >= 1"
        )
    for field_name in ("min_capacity", "max_capacity"):
        value = getattr(args, field_name)
        if value * 2 != int(value * 2):
            raise ValueError(f"VectorStoreArgs.{field_name}={value} is invalid: ACUs go in steps of 0.5")
    if args.min_capacity == 0 and not 300 <= args.seconds_until_auto_pause <= 86400:
        raise ValueError(
            f"VectorStoreArgs.seconds_until_auto_pause={args.seconds_until_auto_pause} is invalid: allowed 300..86400"
        )
    if not 1 <= args.instance_count <= 16:
        raise ValueError(f"VectorStoreArgs.instance_count={args.instance_count} is invalid: allowed 1..16")
    subnets = known_length(args.subnet_ids)
    if subnets is not None and subnets < 2:
        raise ValueError(f"VectorStoreArgs.subnet_ids has {subnets} subnet(s): RDS needs private subnets in 2+ AZs")
    reserved = {
        "master_username": PG_RESERVED_WORDS | RDS_RESERVED_ROLES,
        "database_name": PG_RESERVED_WORDS | EXISTING_DATABASES,
    }
    for field_name, taken in reserved.items():
        value = getattr(args, field_name)
        if not _IDENTIFIER.match(value) or value.lower() in taken or value.lower().startswith("pg_"):
            raise ValueError(
                f"VectorStoreArgs.{field_name}={value!r} is invalid: 1-63 letters, digits or '_', a letter first, "
                f"not 'pg_*', not a PostgreSQL reserved word and not one of {sorted(taken - PG_RESERVED_WORDS)}"
            )
    if not 1 <= args.backup_retention_days <= 35:
        raise ValueError(
            f"VectorStoreArgs.backup_retention_days={args.backup_retention_days} is invalid: allowed 1..35"
        )
    pi_days = args.performance_insights_retention_days
    if not (pi_days == 7 or (pi_days % 31 == 0 and 31 <= pi_days <= 731)):
        raise ValueError(
            f"VectorStoreArgs.performance_insights_retention_days={pi_days} is invalid: "
            "7, or a multiple of 31 up to 731"
        )
    if args.monitoring_interval_seconds not in MONITORING_INTERVALS:
        raise ValueError(
            f"VectorStoreArgs.monitoring_interval_seconds={args.monitoring_interval_seconds} is invalid: "
            f"allowed {list(MONITORING_INTERVALS)} (0 turns Enhanced Monitoring off)"
        )
    if not 1150 <= args.port <= 65535:
        raise ValueError(f"VectorStoreArgs.port={args.port} is invalid: allowed 1150..65535")
    if args.slow_statement_ms < -1:
        raise ValueError(f"VectorStoreArgs.slow_statement_ms={args.slow_statement_ms} is invalid: -1 or more")
    # RDS: maintenance window and backup window at least 30 minutes each, disjoint.
    validate_windows(
        "VectorStoreArgs",
        ("preferred_maintenance_window", args.preferred_maintenance_window),
        ("preferred_backup_window", args.preferred_backup_window),
        min_weekly_minutes=30,
        min_daily_minutes=30,
    )
    return match.group(1)
