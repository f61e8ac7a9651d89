"""VectorStore under the mock runtime: encryption, TLS, IAM auth, managed password, backups, private SG."""

from __future__ import annotations

import hashlib

import pulumi
import pytest

from components.aws.mocks import ACCOUNT
from components.aws.vector_store import VectorStore, VectorStoreArgs, cluster_identifier
from components.testing import Graph, plan

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
REGION = "eu-west-1"
KMS = f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _args(**overrides: object) -> VectorStoreArgs:
    args = VectorStoreArgs(
        vpc_id="vpc-123", subnet_ids=["subnet-a", "subnet-b"], kms_key_arn=KMS, tags={"stack": "test"}
    )
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


def _build(args: VectorStoreArgs, name: str = "vectors") -> Graph:
    def program() -> None:
        db = VectorStore(name, args)
        db.allow_from("service", "sg-service")
        pulumi.export("secret", db.master_user_secret_arn)
        pulumi.export("connect", db.grant_connect("app_user"))
        pulumi.export("resource_id", db.cluster_resource_id)
        pulumi.export("endpoint", db.endpoint)
        pulumi.export("reader", db.reader_endpoint)
        pulumi.export("port", db.port)
        pulumi.export("instances", pulumi.Output.all(*db.instance_identifiers))

    return plan(program, stack="dev", config={"aws:region": REGION})


def test_cluster_is_encrypted_private_and_uses_managed_password_and_iam_auth() -> None:
    cluster = _build(_args()).one(CLUSTER).inputs
    assert cluster["engine"] == "aurora-postgresql"
    assert cluster["engineMode"] == "provisioned"
    assert cluster["engineVersion"] == "16.6"
    assert cluster["storageEncrypted"] is True
    assert cluster["kmsKeyId"] == KMS
    assert cluster["manageMasterUserPassword"] is True
    assert cluster["masterUserSecretKmsKeyId"] == KMS
    assert "masterPassword" not in cluster
    assert cluster["iamDatabaseAuthenticationEnabled"] is True
    assert cluster["databaseName"] == "aiplatform"
    assert cluster["masterUsername"] == "aiplatform_admin"
    assert cluster["port"] == 5432
    assert cluster["copyTagsToSnapshot"] is True
    assert cluster["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert cluster["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 4}
    assert cluster["tags"] == {"stack": "test"}


def test_dev_defaults_skip_the_final_snapshot_and_keep_one_day_of_backups() -> None:
    cluster = _build(_args()).one(CLUSTER).inputs
    assert cluster["deletionProtection"] is False
    assert cluster["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in cluster
    assert cluster["backupRetentionPeriod"] == 1
    assert cluster["preferredBackupWindow"] == "02:00-03:00"
    assert cluster["preferredMaintenanceWindow"] == "sun:04:00-sun:05:00"


def test_prod_settings_protect_the_cluster_and_take_a_final_snapshot() -> None:
    graph = _build(_args(deletion_protection=True, skip_final_snapshot=False, backup_retention_days=14))
    cluster = graph.one(CLUSTER).inputs
    assert cluster["deletionProtection"] is True
    assert cluster["skipFinalSnapshot"] is False
    assert cluster["finalSnapshotIdentifier"] == "ai-platform-dev-vectors-final"
    assert cluster["deleteAutomatedBackups"] is False
    assert cluster["backupRetentionPeriod"] == 14


def test_parameter_group_forces_tls_and_logs_connections_and_slow_statements() -> None:
    group = _build(_args()).one("aws:rds/clusterParameterGroup:ClusterParameterGroup").inputs
    assert group["family"] == "aurora-postgresql16"
    params = {p["name"]: p["value"] for p in group["parameters"]}
    assert params == {
        "rds.force_ssl": "1",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_min_duration_statement": "1000",
        "log_statement": "ddl",
    }


def test_instances_are_serverless_private_with_encrypted_performance_insights() -> None:
    graph = _build(_args(instance_count=2, availability_zones=["eu-west-1a", "eu-west-1b"]))
    instances = sorted(graph.of_type(INSTANCE), key=lambda r: r.name)
    assert [i.name for i in instances] == ["vectors-instance-0", "vectors-instance-1"]
    for index, instance in enumerate(instances):
        inputs = instance.inputs
        assert inputs["instanceClass"] == "db.serverless"
        assert inputs["engine"] == "aurora-postgresql"
        assert inputs["publiclyAccessible"] is False
        assert inputs["performanceInsightsEnabled"] is True
        assert inputs["performanceInsightsKmsKeyId"] == KMS
        assert inputs["performanceInsightsRetentionPeriod"] == 7
        assert inputs["caCertIdentifier"] == "rds-ca-rsa2048-g1"
        assert inputs["clusterIdentifier"] == graph.one(CLUSTER).id
        assert inputs["availabilityZone"] == ["eu-west-1a", "eu-west-1b"][index]
        assert inputs["promotionTier"] == index
    assert graph.outputs["instances"] == [i.id for i in instances]


def test_auto_pause_is_only_configured_when_min_capacity_is_zero() -> None:
    cluster = _build(_args(min_capacity=0.0, seconds_until_auto_pause=600)).one(CLUSTER).inputs
    assert cluster["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 0,
        "maxCapacity": 4,
        "secondsUntilAutoPause": 600,
    }


def test_security_group_admits_only_allowed_sources_on_5432() -> None:
    graph = _build(_args(allowed_security_group_ids=["sg-a"]))
    sg = graph.one("aws:ec2/securityGroup:SecurityGroup")
    assert "egress" not in sg.inputs or sg.inputs["egress"] == []
    assert "ingress" not in sg.inputs or sg.inputs["ingress"] == []
    rules = {r.name: r.inputs for r in graph.of_type(INGRESS)}
    assert set(rules) == {"vectors-ingress-allowed0", "vectors-ingress-service"}
    for rule in rules.values():
        assert rule["securityGroupId"] == sg.id
        assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (5432, 5432, "tcp")
        assert "cidrIpv4" not in rule
    assert rules["vectors-ingress-allowed0"]["referencedSecurityGroupId"] == "sg-a"
    assert graph.one(CLUSTER).inputs["vpcSecurityGroupIds"] == [sg.id]
    subnets = graph.one("aws:rds/subnetGroup:SubnetGroup").inputs
    assert subnets["subnetIds"] == ["subnet-a", "subnet-b"]


def test_outputs_and_the_iam_grant_connect() -> None:
    graph = _build(_args())
    outputs = graph.outputs
    cluster = graph.one(CLUSTER).outputs
    assert outputs["secret"] == cluster["masterUserSecrets"][0]["secretArn"]
    assert outputs["secret"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-")
    assert outputs["endpoint"] == cluster["endpoint"]
    assert outputs["reader"] == cluster["readerEndpoint"]
    assert outputs["endpoint"] != outputs["reader"]
    assert outputs["port"] == 5432
    assert outputs["resource_id"] == cluster["clusterResourceId"]
    assert outputs["connect"] == {
        "Sid": "ConnectAsDatabaseUser",
        "Effect": "Allow",
        "Action": ["rds-db:connect"],
        "Resource": f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{cluster['clusterResourceId']}/app_user",
    }


def test_grant_connect_rejects_a_reserved_user() -> None:
    def program() -> None:
        VectorStore("vectors", _args()).grant_connect("rdsadmin")

    with pytest.raises(ValueError, match=r"grant_connect db_user='rdsadmin' is invalid"):
        plan(program)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"engine_version": "16.3"}, r"VectorStoreArgs.engine_version='16.3' is invalid: Aurora PostgreSQL 16.4\+"),
        ({"engine_version": "15.8"}, r"engine_version='15.8' is invalid"),
        ({"min_capacity": 8.0}, r"min_capacity=8.0, max_capacity=4.0 are invalid"),
        ({"max_capacity": 300.0}, r"max_capacity=300.0 are invalid"),
        ({"max_capacity": 4.2}, r"VectorStoreArgs.max_capacity=4.2 is invalid: ACUs go in steps of 0.5"),
        ({"min_capacity": 0.0, "seconds_until_auto_pause": 60}, r"seconds_until_auto_pause=60 is invalid"),
        ({"instance_count": 0}, r"VectorStoreArgs.instance_count=0 is invalid: allowed 1..16"),
        ({"subnet_ids": ["subnet-a"]}, r"VectorStoreArgs.subnet_ids has 1 subnet\(s\): RDS needs private subnets"),
        ({"master_username": "rdsadmin"}, r"VectorStoreArgs.master_username='rdsadmin' is invalid"),
        ({"master_username": "admin"}, r"master_username='admin' is invalid: .*not one of \['admin', 'rds_iam'"),
        ({"master_username": "a" * 64}, r"master_username='a{64}' is invalid: 1-63 letters"),
        ({"master_username": "user"}, r"master_username='user' is invalid"),
        ({"master_username": "pg_admin"}, r"master_username='pg_admin' is invalid"),
        ({"master_username": "1admin"}, r"master_username='1admin' is invalid"),
        ({"database_name": "postgres"}, r"VectorStoreArgs.database_name='postgres' is invalid"),
        ({"database_name": "ai-platform"}, r"database_name='ai-platform' is invalid"),
        ({"backup_retention_days": 0}, r"backup_retention_days=0 is invalid: allowed 1..35"),
        ({"performance_insights_retention_days": 30}, r"performance_insights_retention_days=30 is invalid"),
        ({"port": 80}, r"VectorStoreArgs.port=80 is invalid"),
        ({"monitoring_interval_seconds": 20}, r"monitoring_interval_seconds=20 is invalid: allowed \[0, 1, 5, 10"),
        ({"preferred_backup_window": "2am"}, r"preferred_backup_window='2am' is invalid"),
        ({"preferred_maintenance_window": "sun-04"}, r"preferred_maintenance_window='sun-04' is invalid"),
        ({"preferred_backup_window": "02:00-02:15"}, r"preferred_backup_window='02:00-02:15' is invalid: at least 30"),
        ({"preferred_backup_window": "04:15-04:45"}, r"preferred_backup_window='04:15-04:45' overlaps"),
    ],
)
def test_invalid_args_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build(_args(**overrides))


def test_enhanced_monitoring_role_and_interval(child_keys) -> None:
    graph = _build(_args(monitoring_interval_seconds=30))
    role = graph.one("aws:iam/role:Role")
    trust = role.json_input("assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    attachment = graph.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"].endswith(":policy/service-role/AmazonRDSEnhancedMonitoringRole")
    for instance in graph.of_type("aws:rds/clusterInstance:ClusterInstance"):
        assert instance.inputs["monitoringInterval"] == 30
        assert instance.property_dependencies["monitoringRoleArn"] == [role.urn]
        assert attachment.urn in instance.dependencies
    assert {"monitoringRole", "monitoringRoleManaged0"} <= set(child_keys.used)
    assert not {"monitoringRole", "monitoringRoleManaged0"} & set(child_keys.undocumented(VectorStore))
    assert "monitoringInterval" not in _build(_args()).one("aws:rds/clusterInstance:ClusterInstance").inputs


def test_master_username_postgres_is_allowed_as_aurora_allows_it() -> None:
    assert _build(_args(master_username="postgres")).one(CLUSTER).inputs["masterUsername"] == "postgres"


@pytest.mark.parametrize("name", ["Vectors", "vec_tors", "v" * 43, "vectors-", "9vectors"])
def test_names_that_cannot_prefix_rds_identifiers_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match=r"VectorStore name=.* is invalid: at most 42 characters, lowercase"):
        _build(_args(), name=name)


def test_engine_17_uses_the_17_parameter_family() -> None:
    group = _build(_args(engine_version="17.4")).one("aws:rds/clusterParameterGroup:ClusterParameterGroup")
    assert group.inputs["family"] == "aurora-postgresql17"


def test_subnets_given_as_an_output_are_passed_through() -> None:
    subnets = _build(_args(subnet_ids=pulumi.Output.from_input(["subnet-x", "subnet-y", "subnet-z"])))
    assert subnets.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == ["subnet-x", "subnet-y", "subnet-z"]


def test_availability_zones_may_be_an_output_and_are_assigned_round_robin() -> None:
    zones = pulumi.Output.from_input(["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    graph = _build(_args(instance_count=2, availability_zones=zones))
    instances = sorted(graph.of_type(INSTANCE), key=lambda r: r.name)
    assert [i.inputs["availabilityZone"] for i in instances] == ["eu-west-1a", "eu-west-1b"]


def test_without_availability_zones_rds_places_the_instances() -> None:
    instance = _build(_args()).one(INSTANCE)
    assert "availabilityZone" not in instance.inputs


def test_the_exported_postgresql_log_has_its_group_made_first_with_retention_and_kms() -> None:
    graph = _build(_args(log_retention_days=90))
    cluster = graph.one(CLUSTER)
    identifier = cluster.inputs["clusterIdentifier"]
    assert identifier == "ai-platform-dev-vectors"  # <project>-<stack>-<name>
    group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs == {
        "name": f"/aws/rds/cluster/{identifier}/postgresql",
        "retentionInDays": 90,
        "kmsKeyId": KMS,
        "tags": {"stack": "test"},
    }
    assert group.urn in cluster.dependencies


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ai-platform-aws-prod-vectors", "ai-platform-aws-prod-vectors"),
        ("My_Project--Prod", "my-project-prod"),
        ("9lives", "db-9lives"),
        ("x" * 80, "x" * 54 + "-" + hashlib.sha256(b"x" * 80).hexdigest()[:8]),
    ],
)
def test_cluster_identifiers_follow_rds_rules(raw: str, expected: str) -> None:
    assert cluster_identifier(raw) == expected
    assert len(cluster_identifier(raw)) <= 63
