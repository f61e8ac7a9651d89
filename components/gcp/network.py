"""Network: a custom-mode VPC with one regional subnetwork (Private Google Access, flow logs),
Cloud NAT, a Private Service Access range and connection (Cloud SQL and Memorystore live there),
and a logged default-deny ingress firewall that admits only Google's load-balancer ranges."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_gcp.compute as compute
import pulumi_gcp.servicenetworking as servicenetworking

from components import validation
from components.base import Block
from components.gcp.apis import GcpArgs, after

#: Google Front End and health-check ranges: the only sources the firewall admits
GOOGLE_LB_RANGES = ("35.191.0.0/16", "130.211.0.0/22")


@dataclass(kw_only=True)
class NetworkArgs(GcpArgs):
    """Inputs of :class:`Network`. Child keys for ``transform``: ``network``, ``subnetwork``,
    ``router``, ``nat``, ``psaRange``, ``psaConnection``, ``denyIngress``, ``allowLoadBalancer``."""

    region: str
    """Region of the subnetwork and Cloud NAT."""
    cidr_block: str = "10.0.0.0/16"
    """The VPC's range: the first half is the subnetwork, the second the Private Service Access range."""
    app_port: int = 8000
    """The port the load balancer's ranges may reach."""


def split(cidr_block: str) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    """(subnetwork, Private Service Access range): the two halves of the VPC's range."""
    first, second = ipaddress.IPv4Network(cidr_block).subnets(prefixlen_diff=1)
    return first, second


class Network(Block):
    network_id: pulumi.Output[str]
    """Id of the VPC network."""
    network_name: pulumi.Output[str]
    """Name of the VPC network."""
    subnetwork_id: pulumi.Output[str]
    """Id of the regional subnetwork."""
    subnetwork_name: pulumi.Output[str]
    """Name of the regional subnetwork."""
    psa_connection: servicenetworking.Connection
    """Cloud SQL and Memorystore wait for it: without the peering they cannot get a private IP."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problem = validation.private_cidr(args.cidr_block, min_prefix=16, max_prefix=22)
        if problem:
            raise ValueError(f"NetworkArgs.cidr_block={args.cidr_block!r}: {problem}")
        if not 1 <= args.app_port <= 65535:
            raise ValueError(f"NetworkArgs.app_port={args.app_port}: must be 1-65535")
        super().__init__("ai-platform:gcp:Network", name, args, opts)
        subnet_range, psa_range = split(args.cidr_block)
        network = self.child(
            "network",
            compute.Network,
            compute.NetworkArgs(project=args.project, auto_create_subnetworks=False, routing_mode="REGIONAL"),
            after(args),
            name="vpc",
        )
        subnetwork = self.child(
            "subnetwork",
            compute.Subnetwork,
            compute.SubnetworkArgs(
                project=args.project,
                region=args.region,
                network=network.id,
                ip_cidr_range=str(subnet_range),
                private_ip_google_access=True,
                log_config=compute.SubnetworkLogConfigArgs(
                    aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
                ),
            ),
            name="subnet",
        )
        router = self.child(
            "router",
            compute.Router,
            compute.RouterArgs(project=args.project, region=args.region, network=network.id),
            name="router",
        )
        self.child(
            "nat",
            compute.RouterNat,
            compute.RouterNatArgs(
                project=args.project,
                region=args.region,
                router=router.name,
                nat_ip_allocate_option="AUTO_ONLY",
                source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
                log_config=compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            ),
            name="nat",
        )
        reserved = self.child(
            "psaRange",
            compute.GlobalAddress,
            compute.GlobalAddressArgs(
                project=args.project,
                purpose="VPC_PEERING",
                address_type="INTERNAL",
                address=str(psa_range.network_address),
                prefix_length=psa_range.prefixlen,
                network=network.id,
            ),
            name="psa-range",
        )
        self.psa_connection = self.child(
            "psaConnection",
            servicenetworking.Connection,
            servicenetworking.ConnectionArgs(
                network=network.id,
                service="servicenetworking.googleapis.com",
                reserved_peering_ranges=[reserved.name],
            ),
            name="psa",
        )
        self.child(
            "denyIngress",
            compute.Firewall,
            compute.FirewallArgs(
                project=args.project,
                network=network.id,
                direction="INGRESS",
                priority=65534,
                denies=[compute.FirewallDenyArgs(protocol="all")],
                source_ranges=["0.0.0.0/0"],
                log_config=compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
                description="Deny all other ingress (logged)",
            ),
            name="deny-ingress",
        )
        self.child(
            "allowLoadBalancer",
            compute.Firewall,
            compute.FirewallArgs(
                project=args.project,
                network=network.id,
                direction="INGRESS",
                priority=1000,
                allows=[compute.FirewallAllowArgs(protocol="tcp", ports=[str(args.app_port)])],
                source_ranges=list(GOOGLE_LB_RANGES),
                log_config=compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
                description="Google load balancer and health-check ranges only",
            ),
            name="allow-lb",
        )
        self.network_id = network.id
        self.network_name = network.name
        self.subnetwork_id = subnetwork.id
        self.subnetwork_name = subnetwork.name
        self.register_outputs({"networkId": self.network_id, "subnetworkId": self.subnetwork_id})
