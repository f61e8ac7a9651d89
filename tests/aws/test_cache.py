"""Cache under the mock runtime: TLS, KMS at rest, AUTH, failover rules, private SG, log delivery."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.cache import Cache, CacheArgs
from components.testing import SECRET_MARKER, Graph, plan

RG = "aws:elasticache/replicationGroup:ReplicationGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
REGION = "eu-west-1"
KMS = f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOKEN = "Abcdefgh12345678!&#$^<>-"


def _args(**overrides: object) -> CacheArgs:
    args = CacheArgs(
        vpc_id="vpc-123",
        subnet_ids=["subnet-a", "subnet-b"],
        auth_token=pulumi.Output.secret(TOKEN),
        kms_key_arn=KMS,
        tags={"stack": "test"},
    )
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


def _build(args: CacheArgs, name: str = "cache") -> Graph:
    def program() -> None:
        cache = Cache(name, args)
        cache.allow_from("service", "sg-service")
        pulumi.export("members", pulumi.Output.all(*cache.member_cluster_ids))
        pulumi.export("primary", cache.primary_endpoint_address)
        pulumi.export("port", cache.port)
        pulumi.export("id", cache.replication_group_id)

    return plan(program, config={"aws:region": REGION})


def test_replication_group_is_encrypted_in_transit_and_at_rest_with_auth() -> None:
    rg = _build(_args()).one(RG).inputs
    assert rg["transitEncryptionEnabled"] is True
    assert rg["transitEncryptionMode"] == "required"
    assert rg["atRestEncryptionEnabled"] is True
    assert rg["kmsKeyId"] == KMS
    assert rg["authToken"] == SECRET_MARKER
    assert rg["engine"] == "redis"
    assert rg["engineVersion"] == "7.1"
    assert rg["nodeType"] == "cache.t4g.small"
    assert rg["port"] == 6379
    assert rg["clusterMode"] == "disabled"
    assert rg["tags"] == {"stack": "test"}


def test_plain_auth_token_is_still_sent_as_a_secret() -> None:
    rg = _build(_args(auth_token=TOKEN)).one(RG).inputs
    assert rg["authToken"] == SECRET_MARKER


def test_dev_defaults_are_a_single_node_without_failover() -> None:
    rg = _build(_args()).one(RG).inputs
    assert rg["numCacheClusters"] == 1
    assert rg["automaticFailoverEnabled"] is False
    assert rg["multiAzEnabled"] is False
    assert rg["snapshotRetentionLimit"] == 1
    assert rg["snapshotWindow"] == "02:00-03:00"
    assert rg["maintenanceWindow"] == "sun:04:00-sun:05:00"
    assert rg["applyImmediately"] is False
    assert rg["autoMinorVersionUpgrade"] is True


def test_prod_shape_has_failover_across_azs_and_per_node_ids() -> None:
    graph = _build(_args(num_cache_clusters=2, multi_az=True))
    group = graph.one(RG)
    rg = group.inputs
    assert rg["numCacheClusters"] == 2
    assert rg["automaticFailoverEnabled"] is True
    assert rg["multiAzEnabled"] is True
    assert group.id.startswith("cache-redis-")  # named by Pulumi from the block name
    assert graph.outputs["members"] == [f"{group.id}-001", f"{group.id}-002"]
    assert graph.outputs["id"] == group.id
    assert graph.outputs["primary"] == group.outputs["primaryEndpointAddress"]
    assert graph.outputs["primary"].startswith(f"master.{group.id}.")
    assert graph.outputs["port"] == 6379


def test_parameter_group_sets_the_eviction_policy() -> None:
    params = _build(_args()).one("aws:elasticache/parameterGroup:ParameterGroup").inputs
    assert params["family"] == "redis7"
    assert params["parameters"] == [{"name": "maxmemory-policy", "value": "volatile-lru"}]


def test_subnet_group_uses_the_private_subnets() -> None:
    group = _build(_args()).one("aws:elasticache/subnetGroup:SubnetGroup").inputs
    assert group["subnetIds"] == ["subnet-a", "subnet-b"]


def test_security_group_has_no_egress_and_ingress_only_from_allowed_groups() -> None:
    graph = _build(_args(allowed_security_group_ids=["sg-a"]))
    sg = graph.one(SG)
    assert sg.inputs["vpcId"] == "vpc-123"
    assert "egress" not in sg.inputs or sg.inputs["egress"] == []
    assert "ingress" not in sg.inputs or sg.inputs["ingress"] == []
    rules = {r.name: r.inputs for r in graph.of_type(INGRESS)}
    assert set(rules) == {"cache-ingress-allowed0", "cache-ingress-service"}
    for rule, source in (("cache-ingress-allowed0", "sg-a"), ("cache-ingress-service", "sg-service")):
        assert rules[rule]["referencedSecurityGroupId"] == source
        assert rules[rule]["ipProtocol"] == "tcp"
        assert rules[rule]["fromPort"] == 6379
        assert rules[rule]["toPort"] == 6379
        assert "cidrIpv4" not in rules[rule]
        assert rules[rule]["securityGroupId"] == sg.id
    assert sg.id.startswith("sg-")
    assert graph.one(RG).inputs["securityGroupIds"] == [sg.id]


def test_slow_and_engine_logs_go_to_encrypted_log_groups_with_retention() -> None:
    graph = _build(_args())
    groups = {r.name: r for r in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {"cache-slow-log", "cache-engine-log"}
    for group in groups.values():
        assert group.inputs["retentionInDays"] == 30
        assert group.inputs["kmsKeyId"] == KMS
    deliveries = graph.one(RG).inputs["logDeliveryConfigurations"]
    assert deliveries == [
        {
            "destination": groups["cache-slow-log"].id,
            "destinationType": "cloudwatch-logs",
            "logFormat": "json",
            "logType": "slow-log",
        },
        {
            "destination": groups["cache-engine-log"].id,
            "destinationType": "cloudwatch-logs",
            "logFormat": "json",
            "logType": "engine-log",
        },
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"auth_token": "short"}, r"CacheArgs.auth_token is invalid \(length 5"),
        ({"auth_token": "a" * 129}, r"auth_token is invalid \(length 129"),
        ({"auth_token": "abcdefghijklmnop@/"}, r"disallowed characters \['/', '@'\].*letters, digits and !&#\$\^<>-"),
        ({"auth_token": 'abcdefghijklmnop"'}, r"disallowed characters \['\"'\]"),
        ({"num_cache_clusters": 0}, r"CacheArgs.num_cache_clusters=0 is invalid: allowed 1..6"),
        ({"num_cache_clusters": 7}, r"num_cache_clusters=7 is invalid"),
        ({"automatic_failover": True}, r"automatic_failover=True needs num_cache_clusters >= 2, got 1"),
        ({"multi_az": True}, r"multi_az=True needs automatic failover and num_cache_clusters >= 2"),
        (
            {"multi_az": True, "num_cache_clusters": 2, "automatic_failover": False},
            r"multi_az=True needs automatic failover",
        ),
        (
            {"multi_az": True, "num_cache_clusters": 2, "subnet_ids": ["subnet-a"]},
            r"multi_az=True needs subnets in 2\+ AZs, got 1",
        ),
        ({"subnet_ids": []}, r"CacheArgs.subnet_ids is empty"),
        ({"node_type": "t4g.small"}, r"CacheArgs.node_type='t4g.small' is invalid"),
        ({"engine_version": "6.2"}, r"CacheArgs.engine_version='6.2' is invalid: expected Redis OSS '7.x'"),
        ({"snapshot_retention_days": 36}, r"snapshot_retention_days=36 is invalid: allowed 0..35"),
        ({"maxmemory_policy": "lru"}, r"CacheArgs.maxmemory_policy='lru' is invalid"),
        ({"maintenance_window": "sunday 4am"}, r"CacheArgs.maintenance_window='sunday 4am' is invalid"),
        ({"snapshot_window": "2-3"}, r"CacheArgs.snapshot_window='2-3' is invalid"),
        (
            {"maintenance_window": "sun:04:00-sun:04:30"},
            r"maintenance_window='sun:04:00-sun:04:30' is invalid: at least 60",
        ),
        ({"snapshot_window": "02:00-02:30"}, r"snapshot_window='02:00-02:30' is invalid: at least 60 minutes"),
        ({"snapshot_window": "04:30-05:30"}, r"snapshot_window='04:30-05:30' overlaps maintenance_window="),
        ({"snapshot_window": "03:30-04:30"}, r"snapshot_window='03:30-04:30' overlaps"),
        (
            {"snapshot_window": "23:30-00:30", "maintenance_window": "sat:23:00-sun:01:00"},
            r"snapshot_window='23:30-00:30' overlaps",
        ),
        ({"log_retention_days": 2}, r"log retention_days=2 is not a CloudWatch retention"),
    ],
)
def test_invalid_args_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build(_args(**overrides))


def test_auth_token_error_does_not_echo_the_token() -> None:
    with pytest.raises(ValueError) as error:
        _build(_args(auth_token="secret-value-with@"))
    assert "secret-value-with" not in str(error.value)


@pytest.mark.parametrize("name", ["Cache", "cache_1", "c" * 27, "cache--x", "1cache", "cache-"])
def test_names_that_cannot_become_a_replication_group_id_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match=r"Cache name=.* is invalid: at most 26 characters"):
        _build(_args(), name=name)


def test_windows_may_touch_and_wrap_around_the_week() -> None:
    rg = _build(_args(snapshot_window="03:00-04:00", maintenance_window="sun:23:30-mon:00:30")).one(RG).inputs
    assert rg["maintenanceWindow"] == "sun:23:30-mon:00:30"


def test_snapshots_can_be_disabled() -> None:
    rg = _build(_args(snapshot_retention_days=0)).one(RG).inputs
    assert rg["snapshotRetentionLimit"] == 0
    assert "snapshotWindow" not in rg


def test_transform_keys_reach_the_documented_children() -> None:
    def bigger(args: object, opts: pulumi.ResourceOptions) -> None:
        assert isinstance(args, aws.elasticache.ReplicationGroupArgs)
        args.node_type = "cache.r7g.large"

    def note(args: object, opts: pulumi.ResourceOptions) -> None:
        assert isinstance(args, aws.vpc.SecurityGroupIngressRuleArgs)
        args.description = "patched"

    graph = _build(_args(transform={"replicationGroup": bigger, "ingress:service": note}))
    assert graph.one(RG).inputs["nodeType"] == "cache.r7g.large"
    assert graph.named("cache-ingress-service").inputs["description"] == "patched"


def test_subnets_given_as_an_output_are_passed_through_with_multi_az() -> None:
    args = _args(subnet_ids=pulumi.Output.from_input(["subnet-x", "subnet-y"]), num_cache_clusters=2, multi_az=True)
    group = _build(args).one("aws:elasticache/subnetGroup:SubnetGroup").inputs
    assert group["subnetIds"] == ["subnet-x", "subnet-y"]
