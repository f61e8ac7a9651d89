"""Network: a VPC over 2-3 AZs with public and private subnets, NAT, VPC endpoints and flow logs."""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.aws.iam import service_role
from components.aws.logs import log_group
from components.aws.policy_documents import aws_context, document, service_assume_role_policy
from components.base import Block, BlockArgs

#: the interface endpoints a private Fargate service needs to pull from ECR, read secrets and log
DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = ("ecr.api", "ecr.dkr", "secretsmanager", "logs")

_SERVICE_SUFFIX = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*$")
_SMALLEST_SUBNET_PREFIX = 28  # AWS rejects subnets smaller than /28


@dataclass(kw_only=True)
class NetworkArgs(BlockArgs):
    """Inputs of :class:`Network`.

    Child keys for ``transform``: ``vpc``, ``defaultSecurityGroup``, ``internetGateway``,
    ``publicRouteTable``, ``publicRoute``, ``publicSubnet<i>``, ``publicRouteTableAssociation<i>``,
    ``natEip<i>``, ``natGateway<i>``, ``privateSubnet<i>``, ``privateRouteTable<i>``,
    ``privateRoute<i>``, ``privateRouteTableAssociation<i>``, ``s3Endpoint``,
    ``endpointSecurityGroup``, ``endpointIngress``, ``endpoint-<service>`` (e.g. ``endpoint-ecr.api``),
    ``flowLogGroup``, ``flowLogRole``, ``flowLogRolePolicy``, ``flowLog``.
    """

    cidr_block: str = "10.0.0.0/16"
    """VPC IPv4 CIDR, /16 (65k addresses) to /24. Private subnets get a quarter each (one per AZ),
    public subnets a sixteenth each: the ALB and NAT gateways need few addresses, tasks many."""
    availability_zone_count: int = 2
    """2 or 3 AZs (used when ``availability_zones`` is not given); 2 is the minimum an ALB accepts."""
    availability_zones: Sequence[str] | None = None
    """Explicit AZ names (2 or 3); ``None`` takes the first ``availability_zone_count`` available
    AZs of the region (opt-in zones such as Local Zones excluded)."""
    nat_gateways: Literal["single", "per_az"] = "single"
    """``single``: one NAT gateway for all AZs (dev: cheap, but an AZ outage cuts egress);
    ``per_az``: one per AZ (prod). Each NAT gateway costs ~32 USD/month + 0.045 USD/GB processed."""
    interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS
    """Interface endpoint service suffixes (``com.amazonaws.<region>.<suffix>``), so image pulls,
    secret reads and logs stay off the NAT. Each costs ~7.3 USD/month per AZ + 0.01 USD/GB.
    The S3 gateway endpoint (free; ECR layers live in S3) is always created."""
    flow_log_retention_days: int = 90
    """Retention of the VPC flow log group (a CloudWatch-accepted value); 90 days covers most
    incident investigations without keeping logs forever."""
    flow_log_traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"
    """Which traffic the flow log records; ``ALL`` for full forensics."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key for the flow log group (its key policy must allow the
    ``logs.<region>.amazonaws.com`` principal); ``None`` uses CloudWatch's own encryption."""
    extra_private_subnet_tags: dict[str, str] = field(default_factory=dict)
    """Extra tags on private subnets only (e.g. for discovery by other tools)."""


@dataclass(frozen=True)
class SubnetPlan:
    """Computed subnet CIDRs, one public and one private per AZ."""

    public: tuple[str, ...]
    private: tuple[str, ...]


def plan_subnets(cidr_block: str, az_count: int) -> SubnetPlan:
    """Split ``cidr_block`` into ``az_count`` private subnets (a quarter of the VPC each) and
    ``az_count`` public subnets (a sixteenth each, carved from the last quarter).

    Raises ``ValueError`` when the CIDR is not a /16-/24 IPv4 network or the subnets would not fit.
    """
    try:
        vpc = ipaddress.IPv4Network(cidr_block, strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as exc:
        raise ValueError(
            f"NetworkArgs.cidr_block={cidr_block!r} is not a valid IPv4 network CIDR "
            f"(host bits must be zero, e.g. '10.0.0.0/16'): {exc}"
        ) from exc
    if not 16 <= vpc.prefixlen <= 24:
        raise ValueError(
            f"NetworkArgs.cidr_block={cidr_block!r}: the prefix must be between /16 and /24 (AWS VPC limits)"
        )
    if az_count not in (2, 3):
        raise ValueError(f"availability zone count {az_count} is not allowed: use 2 or 3")
    quarters = list(vpc.subnets(prefixlen_diff=2))
    public_prefix = vpc.prefixlen + 4
    if public_prefix > _SMALLEST_SUBNET_PREFIX:
        raise ValueError(f"NetworkArgs.cidr_block={cidr_block!r} is too small for /{public_prefix} public subnets")
    private = quarters[:az_count]
    public = list(quarters[3].subnets(new_prefix=public_prefix))[:az_count]
    everything = private + public
    for a, b in itertools.combinations(everything, 2):
        if a.overlaps(b):
            raise ValueError(f"subnet plan for {cidr_block} overlaps: {a} and {b}")
    if not all(s.subnet_of(vpc) for s in everything):
        raise ValueError(f"subnet plan for {cidr_block} leaves the VPC CIDR")
    return SubnetPlan(public=tuple(map(str, public)), private=tuple(map(str, private)))


def _validate(args: NetworkArgs) -> int:
    """Validate the args; return the AZ count."""
    if args.availability_zones is not None:
        azs = list(args.availability_zones)
        if len(azs) not in (2, 3) or len(set(azs)) != len(azs):
            raise ValueError(f"NetworkArgs.availability_zones={azs!r}: give 2 or 3 distinct AZ names")
        count = len(azs)
    else:
        count = args.availability_zone_count
        if count not in (2, 3):
            raise ValueError(f"NetworkArgs.availability_zone_count={count}: allowed values are 2 and 3")
    if args.nat_gateways not in ("single", "per_az"):
        raise ValueError(f"NetworkArgs.nat_gateways={args.nat_gateways!r}: allowed values are 'single' and 'per_az'")
    if args.flow_log_traffic_type not in ("ALL", "ACCEPT", "REJECT"):
        raise ValueError(
            f"NetworkArgs.flow_log_traffic_type={args.flow_log_traffic_type!r}: allowed are 'ALL', 'ACCEPT', 'REJECT'"
        )
    seen: set[str] = set()
    for service in args.interface_endpoints:
        if not _SERVICE_SUFFIX.match(service) or service == "s3":
            raise ValueError(
                f"NetworkArgs.interface_endpoints: {service!r} is not a service suffix such as 'ecr.api' "
                "(S3 is always a gateway endpoint)"
            )
        if service in seen:
            raise ValueError(f"NetworkArgs.interface_endpoints: {service!r} is listed twice")
        seen.add(service)
    return count


class Network(Block):
    """A private network for the platform: VPC, public subnets (ALB, NAT), private subnets
    (tasks, data stores) with NAT egress, VPC endpoints, VPC flow logs and a default security
    group stripped of all rules."""

    vpc_id: pulumi.Output[str]
    """Id of the VPC."""
    vpc_cidr_block: pulumi.Output[str]
    """The VPC's CIDR block."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets, one per availability zone (load balancer, NAT)."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets, one per availability zone (tasks, data stores)."""
    availability_zones: pulumi.Output[list[str]]
    """The availability zones the subnets are in."""
    private_route_table_ids: pulumi.Output[list[str]]
    """Route tables of the private subnets."""
    nat_gateway_ids: pulumi.Output[list[str]]
    """The NAT gateways (one, or one per zone)."""
    endpoint_security_group_id: pulumi.Output[str]
    """Security group of the interface VPC endpoints (HTTPS from the VPC)."""
    flow_log_group_name: pulumi.Output[str]
    """CloudWatch log group of the VPC flow logs."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        az_count = _validate(args)
        subnets = plan_subnets(args.cidr_block, az_count)
        super().__init__("ai-platform:aws:Network", name, args, opts)
        invoke = pulumi.InvokeOptions(parent=self)
        context = aws_context(self)
        region = context.apply(lambda c: c.region)
        account_id = context.apply(lambda c: c.account_id)

        if args.availability_zones is not None:
            zone_names = list(args.availability_zones)
        else:
            # A plain (awaited) data-source call: the subnet count and names must be known while the
            # program runs, and a region with too few AZs fails here with a clear message.
            available = aws.get_availability_zones(
                state="available",
                filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
                opts=invoke,
            ).names
            if len(available) < az_count:
                raise ValueError(
                    f"the region has only {len(available)} available AZs ({available}); NetworkArgs asks for {az_count}"
                )
            zone_names = list(available[:az_count])

        vpc = self.child(
            "vpc",
            aws.ec2.Vpc,
            aws.ec2.VpcArgs(
                cidr_block=args.cidr_block,
                enable_dns_support=True,  # interface endpoints' private DNS needs both
                enable_dns_hostnames=True,
                tags={"Name": name},
            ),
        )
        # Adopting the default SG with no ingress/egress removes AWS's allow-all-within-the-SG rules,
        # so nothing that falls back on it can talk to anything (CIS AWS 5.4).
        self.child(
            "defaultSecurityGroup",
            aws.ec2.DefaultSecurityGroup,
            aws.ec2.DefaultSecurityGroupArgs(
                vpc_id=vpc.id, ingress=[], egress=[], tags={"Name": f"{name}-default-locked"}
            ),
            name="default-sg",
        )
        igw = self.child(
            "internetGateway",
            aws.ec2.InternetGateway,
            aws.ec2.InternetGatewayArgs(vpc_id=vpc.id, tags={"Name": name}),
            name="igw",
        )

        public_rt = self.child(
            "publicRouteTable",
            aws.ec2.RouteTable,
            aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags={"Name": f"{name}-public"}),
            name="public-rt",
        )
        self.child(
            "publicRoute",
            aws.ec2.Route,
            aws.ec2.RouteArgs(route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id),
            name="public-default-route",
        )
        public_subnets: list[aws.ec2.Subnet] = []
        for i, (cidr, zone) in enumerate(zip(subnets.public, zone_names, strict=True)):
            subnet = self.child(
                f"publicSubnet{i}",
                aws.ec2.Subnet,
                aws.ec2.SubnetArgs(
                    vpc_id=vpc.id,
                    cidr_block=cidr,
                    availability_zone=zone,
                    map_public_ip_on_launch=False,  # only the ALB and NAT live here; they get their own IPs
                    tags={"Name": f"{name}-public-{zone}", "tier": "public"},
                ),
                name=f"public-{i}",
            )
            self.child(
                f"publicRouteTableAssociation{i}",
                aws.ec2.RouteTableAssociation,
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=public_rt.id),
                name=f"public-{i}",
            )
            public_subnets.append(subnet)

        nat_count = az_count if args.nat_gateways == "per_az" else 1
        nats: list[aws.ec2.NatGateway] = []
        for i in range(nat_count):
            eip = self.child(
                f"natEip{i}",
                aws.ec2.Eip,
                aws.ec2.EipArgs(domain="vpc", tags={"Name": f"{name}-nat-{i}"}),
                pulumi.ResourceOptions(depends_on=[igw]),
                name=f"nat-eip-{i}",
            )
            # ~32 USD/month per NAT gateway + 0.045 USD/GB processed
            nats.append(
                self.child(
                    f"natGateway{i}",
                    aws.ec2.NatGateway,
                    aws.ec2.NatGatewayArgs(
                        allocation_id=eip.allocation_id,
                        subnet_id=public_subnets[i].id,
                        connectivity_type="public",
                        tags={"Name": f"{name}-nat-{i}"},
                    ),
                    pulumi.ResourceOptions(depends_on=[igw]),
                    name=f"nat-{i}",
                )
            )

        private_subnets: list[aws.ec2.Subnet] = []
        private_rts: list[aws.ec2.RouteTable] = []
        for i, (cidr, zone) in enumerate(zip(subnets.private, zone_names, strict=True)):
            subnet = self.child(
                f"privateSubnet{i}",
                aws.ec2.Subnet,
                aws.ec2.SubnetArgs(
                    vpc_id=vpc.id,
                    cidr_block=cidr,
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags={
                        "Name": f"{name}-private-{zone}",
                        "tier": "private",
                        **args.extra_private_subnet_tags,
                    },
                ),
                name=f"private-{i}",
            )
            rt = self.child(
                f"privateRouteTable{i}",
                aws.ec2.RouteTable,
                aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags={"Name": f"{name}-private-{i}"}),
                name=f"private-rt-{i}",
            )
            self.child(
                f"privateRoute{i}",
                aws.ec2.Route,
                aws.ec2.RouteArgs(
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nats[i if args.nat_gateways == "per_az" else 0].id,
                ),
                name=f"private-default-route-{i}",
            )
            self.child(
                f"privateRouteTableAssociation{i}",
                aws.ec2.RouteTableAssociation,
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=rt.id),
                name=f"private-{i}",
            )
            private_subnets.append(subnet)
            private_rts.append(rt)

        # Data perimeter: only this account's principals may use the endpoints, so credentials of
        # another account cannot move data out through them.
        endpoint_policy = account_id.apply(_account_only_endpoint_policy)
        # Gateway endpoint: free, keeps S3 traffic (ECR image layers) off the NAT.
        self.child(
            "s3Endpoint",
            aws.ec2.VpcEndpoint,
            aws.ec2.VpcEndpointArgs(
                vpc_id=vpc.id,
                service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in private_rts],
                policy=endpoint_policy,
                tags={"Name": f"{name}-s3"},
            ),
            name="s3-endpoint",
        )
        endpoint_sg = self.child(
            "endpointSecurityGroup",
            aws.ec2.SecurityGroup,
            aws.ec2.SecurityGroupArgs(
                vpc_id=vpc.id,
                description="VPC interface endpoints: HTTPS from inside the VPC only",
                tags={"Name": f"{name}-endpoints"},
            ),
            name="endpoints-sg",
        )
        self.child(
            "endpointIngress",
            aws.vpc.SecurityGroupIngressRule,
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=endpoint_sg.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=vpc.cidr_block,
                description="HTTPS from the VPC",
            ),
            name="endpoints-https-from-vpc",
        )
        for service in args.interface_endpoints:
            self.child(
                f"endpoint-{service}",
                aws.ec2.VpcEndpoint,
                aws.ec2.VpcEndpointArgs(
                    vpc_id=vpc.id,
                    service_name=region.apply(lambda r, s=service: f"com.amazonaws.{r}.{s}"),
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[s.id for s in private_subnets],
                    security_group_ids=[endpoint_sg.id],
                    policy=endpoint_policy,
                    tags={"Name": f"{name}-{service}"},
                ),
                name=f"endpoint-{service.replace('.', '-')}",
            )

        flow_group = log_group(
            self,
            "flowLogGroup",
            retention_days=args.flow_log_retention_days,
            kms_key_arn=args.kms_key_arn,
            name="flow-logs",
        )
        flow_role = service_role(
            self,
            "flowLogRole",
            name="flow-logs",
            trust_policy=account_id.apply(
                lambda account: service_assume_role_policy("vpc-flow-logs.amazonaws.com", account)
            ),
            description="VPC flow logs delivery to one CloudWatch log group",
            policy=flow_group.arn.apply(
                lambda arn: document(
                    [
                        {
                            "Sid": "WriteFlowLogs",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    ]
                )
            ),
        )
        self.child(
            "flowLog",
            aws.ec2.FlowLog,
            aws.ec2.FlowLogArgs(
                vpc_id=vpc.id,
                traffic_type=args.flow_log_traffic_type,
                log_destination_type="cloud-watch-logs",
                log_destination=flow_group.arn,
                iam_role_arn=flow_role.role.arn,
                max_aggregation_interval=60,
                tags={"Name": name},
            ),
            name="flow-log",
        )

        self.vpc_id = vpc.id
        self.vpc_cidr_block = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.availability_zones = pulumi.Output.from_input(zone_names)
        self.private_route_table_ids = pulumi.Output.all(*[rt.id for rt in private_rts])
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats])
        self.endpoint_security_group_id = endpoint_sg.id
        self.flow_log_group_name = flow_group.name
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidrBlock": self.vpc_cidr_block,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "availabilityZones": self.availability_zones,
                "privateRouteTableIds": self.private_route_table_ids,
            }
        )


def _account_only_endpoint_policy(account_id: str) -> str:
    """A VPC endpoint policy that admits any action of this account's principals and nobody else's."""
    return document(
        [
            {
                "Sid": "OnlyThisAccountsPrincipals",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
            }
        ]
    )
