"""Network block: subnet plan, security defaults and validation under the mock runtime."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.aws.network import DEFAULT_INTERFACE_ENDPOINTS, Network, NetworkArgs, plan_subnets
from components.testing import plan

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
SG = "aws:ec2/securityGroup:SecurityGroup"


def build(**kwargs):
    def program() -> None:
        Network("net", NetworkArgs(tags={"project": "ai"}, **kwargs))

    return program


def test_defaults_two_azs_single_nat_and_locked_default_sg():
    graph = plan(build())
    vpc = graph.one(VPC)
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["tags"] == {"Name": "net", "project": "ai"}

    default_sg = graph.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.inputs.get("ingress", []) == [] and default_sg.inputs.get("egress", []) == []

    subnets = graph.of_type(SUBNET)
    public = sorted(s.inputs["cidrBlock"] for s in subnets if s.inputs["tags"]["tier"] == "public")
    private = sorted(s.inputs["cidrBlock"] for s in subnets if s.inputs["tags"]["tier"] == "private")
    assert private == ["10.0.0.0/18", "10.0.64.0/18"]
    assert public == ["10.0.192.0/20", "10.0.208.0/20"]
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert sorted(s.inputs["availabilityZone"] for s in subnets) == ["us-east-1a"] * 2 + ["us-east-1b"] * 2

    assert len(graph.of_type(NAT)) == 1
    nat_routes = [r for r in graph.of_type(ROUTE) if "natGatewayId" in r.inputs]
    nat = graph.one(NAT, name="net-nat-0").id
    assert len(nat_routes) == 2 and {r.inputs["natGatewayId"] for r in nat_routes} == {nat}


def test_per_az_nat_and_three_zones():
    graph = plan(build(nat_gateways="per_az", availability_zone_count=3))
    assert len(graph.of_type(NAT)) == 3
    assert len(graph.of_type(SUBNET)) == 6
    nat_routes = [r for r in graph.of_type(ROUTE) if "natGatewayId" in r.inputs]
    assert {r.inputs["natGatewayId"] for r in nat_routes} == {graph.one(NAT, name=f"net-nat-{i}").id for i in range(3)}
    assert all(e.inputs["domain"] == "vpc" for e in graph.of_type("aws:ec2/eip:Eip"))


def test_explicit_zones_are_used():
    graph = plan(build(availability_zones=["eu-west-1b", "eu-west-1c"]))
    assert {s.inputs["availabilityZone"] for s in graph.of_type(SUBNET)} == {"eu-west-1b", "eu-west-1c"}
    assert "aws:index/getAvailabilityZones:getAvailabilityZones" not in graph.calls


def test_endpoints_private_dns_in_private_subnets_https_from_vpc_only():
    graph = plan(build())
    endpoints = graph.of_type(ENDPOINT)
    gateway = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Gateway"]
    assert [e.inputs["serviceName"] for e in gateway] == ["com.amazonaws.us-east-1.s3"]
    assert sorted(gateway[0].inputs["routeTableIds"]) == sorted(
        graph.one(ROUTE_TABLE, name=f"net-private-rt-{i}").id for i in range(2)
    )
    interface = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Interface"]
    assert sorted(e.inputs["serviceName"] for e in interface) == sorted(
        f"com.amazonaws.us-east-1.{s}" for s in DEFAULT_INTERFACE_ENDPOINTS
    )
    private_subnets = sorted(graph.one(SUBNET, name=f"net-private-{i}").id for i in range(2))
    endpoints_sg = graph.one(SG, name="net-endpoints-sg").id
    for e in interface:
        assert e.inputs["privateDnsEnabled"] is True
        assert sorted(e.inputs["subnetIds"]) == private_subnets
        assert e.inputs["securityGroupIds"] == [endpoints_sg]
    rules = graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert len(rules) == 1
    rule = rules[0].inputs
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"], rule["cidrIpv4"]) == (443, 443, "tcp", "10.0.0.0/16")
    assert rule["securityGroupId"] == endpoints_sg


def test_every_endpoint_admits_only_this_accounts_principals():
    graph = plan(build())
    for endpoint in graph.of_type(ENDPOINT):
        (statement,) = endpoint.json_input("policy")["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}


def test_flow_logs_to_encrypted_retained_group_with_scoped_role():
    key = "arn:aws:kms:us-east-1:123456789012:key/abc"
    graph = plan(build(kms_key_arn=key, flow_log_retention_days=30))
    group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 30 and group.inputs["kmsKeyId"] == key
    flow = graph.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["vpcId"] == graph.one(VPC).id
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"
    group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group.id}"
    assert flow.inputs["logDestination"] == group_arn
    role = graph.one("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    statement = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"][0]
    assert statement["Resource"] == [group_arn, f"{group_arn}:*"]
    assert all(not a.endswith("*") for a in statement["Action"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cidr_block": "10.0.0.0/8"}, "between /16 and /24"),
        ({"cidr_block": "10.0.0.0/25"}, "between /16 and /24"),
        ({"cidr_block": "10.0.0.1/16"}, "not a valid IPv4 network CIDR"),
        ({"cidr_block": "fd00::/56"}, "not a valid IPv4 network CIDR"),
        ({"cidr_block": "banana"}, "not a valid IPv4 network CIDR"),
        ({"availability_zone_count": 1}, "allowed values are 2 and 3"),
        ({"availability_zone_count": 4}, "allowed values are 2 and 3"),
        ({"availability_zones": ["a", "a"]}, "2 or 3 distinct AZ names"),
        ({"nat_gateways": "none"}, "allowed values are 'single' and 'per_az'"),
        ({"interface_endpoints": ["s3"]}, "S3 is always a gateway endpoint"),
        ({"interface_endpoints": ["logs", "logs"]}, "listed twice"),
        ({"flow_log_retention_days": 42}, "not a CloudWatch retention"),
    ],
)
def test_validation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan(build(**kwargs))


def test_region_with_too_few_zones_fails():
    with pytest.raises(ValueError, match="the region has only 2 available AZs"):
        plan(build(availability_zone_count=3), config={"aws:region": "xx-test-1"})


@given(
    prefix=st.integers(min_value=16, max_value=24),
    base=st.integers(min_value=0, max_value=2**32 - 1),
    zones=st.sampled_from([2, 3]),
)
def test_subnet_plan_never_overlaps_and_fits(prefix, base, zones):
    vpc = ipaddress.IPv4Network((base, prefix), strict=False)
    layout = plan_subnets(str(vpc), zones)
    nets = [ipaddress.IPv4Network(c) for c in layout.public + layout.private]
    assert len(nets) == 2 * zones
    assert all(n.subnet_of(vpc) and n.prefixlen <= 28 for n in nets)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_every_child_key_is_documented(child_keys):
    plan(build(nat_gateways="per_az", availability_zone_count=3))
    assert "natGateway2" in child_keys.used and "endpoint-ecr.api" in child_keys.used
    assert child_keys.undocumented(NetworkArgs) == []


def test_transform_escape_hatch_reaches_the_vpc():
    def enable_ipv6(args, opts):
        args.assign_generated_ipv6_cidr_block = True

    graph = plan(build(transform={"vpc": enable_ipv6}))
    assert graph.one(VPC).inputs["assignGeneratedIpv6CidrBlock"] is True
