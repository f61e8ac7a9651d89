"""Network: a VNet with one subnet per tier (each with an NSG), private DNS zones linked to it,
private endpoints with their DNS zone groups, and a VNet flow log."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi

from components import validation
from components.base import Block, BlockArgs

if TYPE_CHECKING:  # the SDK module is imported when a block is built, not with the package
    from pulumi_azure_native.network import PublicIPAddress
    from pulumi_azure_native.privatedns import PrivateZone, VirtualNetworkLink

#: subnet key -> (index of its /24 in the VNet, prefix length, delegated service)
SUBNETS: dict[str, tuple[int, int, str | None]] = {
    "gateway": (0, 24, None),
    "apim": (1, 24, None),
    "apps": (2, 23, "Microsoft.App/environments"),
    "endpoints": (4, 24, None),
    "postgres": (5, 24, "Microsoft.DBforPostgreSQL/flexibleServers"),
}

#: subnets whose services need outbound connectivity (through the NAT gateway)
EGRESS_SUBNETS = ("apim", "apps")

#: private DNS zone of each private-link service (key -> zone name)
PRIVATE_DNS_ZONES: dict[str, str] = {
    "vault": "privatelink.vaultcore.azure.net",
    "redisEnterprise": "privatelink.redis.azure.net",
    "namespace": "privatelink.servicebus.windows.net",
    "account": "privatelink.openai.azure.com",
    "registry": "privatelink.azurecr.io",
}

# Rules the platform services need on their subnets (documented by Microsoft); everything else
# keeps the NSG defaults: VNet-internal traffic allowed, other inbound denied.
_RULES: dict[str, list[tuple[str, str, str, str]]] = {
    # name, source prefix, destination ports, protocol
    "gateway": [
        ("AllowHttpsFromInternet", "Internet", "443", "Tcp"),
        ("AllowHttpRedirectFromInternet", "Internet", "80", "Tcp"),
        ("AllowGatewayManager", "GatewayManager", "65200-65535", "Tcp"),
        ("AllowAzureLoadBalancer", "AzureLoadBalancer", "*", "*"),
    ],
    "apim": [
        ("AllowApimManagement", "ApiManagement", "3443", "Tcp"),
        ("AllowAzureLoadBalancer", "AzureLoadBalancer", "6390", "Tcp"),
        ("AllowGatewayToApim", "VirtualNetwork", "443", "Tcp"),
    ],
}


@dataclass(kw_only=True)
class NetworkArgs(BlockArgs):
    """Inputs of :class:`Network`. Child keys for ``transform``: ``vnet``, ``natIp``, ``nat``, ``nsg-<subnet>``,
    ``subnet-<subnet>``, ``zone-<service>``, ``link-<service>``, ``flowLogStorage``, ``flowLog``,
    ``endpoint-<service>``, ``zoneGroup-<service>``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    cidr_block: str = "10.0.0.0/16"
    """Address space of the virtual network."""
    flow_log_retention_days: int = 30
    """Retention of the network's flow logs."""
    private_dns_zones: dict[str, str] = field(default_factory=lambda: dict(PRIVATE_DNS_ZONES))
    """Service key -> private DNS zone name; the zones are created and linked to the VNet."""


class Network(Block):
    """The platform's private network: nothing in it is reachable from the internet except the gateway."""

    vnet_id: pulumi.Output[str]
    """Id of the virtual network."""
    subnet_ids: dict[str, pulumi.Output[str]]
    """Subnet role -> subnet id."""
    zone_ids: dict[str, pulumi.Output[str]]
    """Private DNS zone key -> zone id."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:Network", name, args, opts)
        import pulumi_azure_native.network as network
        import pulumi_azure_native.storage as storage

        self._args = args
        rg = args.resource_group_name
        vnet = self.child(
            "vnet",
            network.VirtualNetwork,
            network.VirtualNetworkInitArgs(
                resource_group_name=rg,
                location=args.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[args.cidr_block]),
            ),
            # subnets are their own resources: ignore the list Azure reports back
            pulumi.ResourceOptions(ignore_changes=["subnets"]),
        )
        self.vnet = vnet
        self.vnet_id = vnet.id
        # subnets have no default outbound access: API Management and the Container Apps
        # environment reach their platform dependencies through one NAT gateway
        nat_ip = public_ip(self, "natIp", rg, args.location, name="nat-ip")
        nat = self.child(
            "nat",
            network.NatGateway,
            network.NatGatewayInitArgs(
                resource_group_name=rg,
                location=args.location,
                sku=network.NatGatewaySkuArgs(name="Standard"),
                idle_timeout_in_minutes=10,
                public_ip_addresses=[network.SubResourceArgs(id=nat_ip.id)],
            ),
        )
        self.subnet_ids = {}
        previous: pulumi.Resource | None = None
        for key, prefix in subnet_prefixes(args.cidr_block).items():
            nsg = self.child(
                f"nsg-{key}",
                network.NetworkSecurityGroup,
                network.NetworkSecurityGroupInitArgs(
                    resource_group_name=rg,
                    location=args.location,
                    security_rules=[
                        network.SecurityRuleArgs(
                            name=rule,
                            priority=100 + 10 * i,
                            direction="Inbound",
                            access="Allow",
                            protocol=protocol,
                            source_address_prefix=source,
                            source_port_range="*",
                            destination_address_prefix="*",
                            destination_port_range=ports,
                        )
                        for i, (rule, source, ports, protocol) in enumerate(_RULES.get(key, []))
                    ],
                ),
                name=f"nsg-{key}",
            )
            delegation = SUBNETS[key][2]
            subnet = self.child(
                f"subnet-{key}",
                network.Subnet,
                network.SubnetInitArgs(
                    resource_group_name=rg,
                    virtual_network_name=vnet.name,
                    subnet_name=key,
                    address_prefix=prefix,
                    network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                    default_outbound_access=False,
                    delegations=[network.DelegationArgs(name=key, service_name=delegation)] if delegation else None,
                    private_endpoint_network_policies="Enabled" if key == "endpoints" else None,
                    nat_gateway=network.SubResourceArgs(id=nat.id) if key in EGRESS_SUBNETS else None,
                ),
                # Azure updates one subnet of a VNet at a time (AnotherOperationInProgress otherwise)
                pulumi.ResourceOptions(depends_on=[previous] if previous else None),
                name=f"subnet-{key}",
            )
            previous = subnet
            self.subnet_ids[key] = subnet.id
        self.zone_ids = {}
        self._links: dict[str, pulumi.Resource] = {}
        for service, zone_name in args.private_dns_zones.items():
            zone, self._links[service] = linked_zone(self, zone_name, rg, vnet.id, key=f"-{service}")
            self.zone_ids[service] = zone.id
        account = self.child(
            "flowLogStorage",
            storage.StorageAccount,
            storage.StorageAccountArgs(
                resource_group_name=rg,
                location=args.location,
                kind="StorageV2",
                sku=storage.SkuArgs(name="Standard_ZRS"),
                minimum_tls_version="TLS1_2",
                enable_https_traffic_only=True,
                allow_blob_public_access=False,
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                public_network_access="Disabled",
                # flow logs write as a trusted Microsoft service
                network_rule_set=storage.NetworkRuleSetArgs(
                    default_action=storage.DefaultAction.DENY, bypass="AzureServices"
                ),
            ),
            name="flowlogs",
        )
        self.child(
            "flowLog",
            network.FlowLog,
            network.FlowLogArgs(
                # Azure creates one Network Watcher per region in NetworkWatcherRG
                resource_group_name="NetworkWatcherRG",
                network_watcher_name=f"NetworkWatcher_{args.location}",
                location=args.location,
                target_resource_id=vnet.id,
                storage_id=account.id,
                enabled=True,
                format=network.FlowLogFormatParametersArgs(type="JSON", version=2),
                retention_policy=network.RetentionPolicyParametersArgs(days=args.flow_log_retention_days, enabled=True),
            ),
            name="flowlog",
        )
        self.register_outputs({"vnetId": vnet.id, "subnetIds": self.subnet_ids})

    def private_endpoint(
        self, service: str, resource: pulumi.Resource, resource_id: pulumi.Input[str]
    ) -> pulumi.Resource:
        """A private endpoint in the endpoints subnet for ``resource`` (group ``service``), with its DNS
        zone group; the group waits for the zone's VNet link, so the name resolves once it exists."""
        import pulumi_azure_native.network as network

        if service not in self.zone_ids:
            raise ValueError(f"Network.private_endpoint service={service!r}: allowed {sorted(self.zone_ids)}")
        endpoint = self.child(
            f"endpoint-{service}",
            network.PrivateEndpoint,
            network.PrivateEndpointArgs(
                resource_group_name=self._args.resource_group_name,
                location=self._args.location,
                subnet=network.SubnetArgs(id=self.subnet_ids["endpoints"]),
                private_link_service_connections=[
                    network.PrivateLinkServiceConnectionArgs(
                        name=service, private_link_service_id=resource_id, group_ids=[service]
                    )
                ],
            ),
            pulumi.ResourceOptions(depends_on=[resource]),
            name=f"pe-{service}",
        )
        self.child(
            f"zoneGroup-{service}",
            network.PrivateDnsZoneGroup,
            network.PrivateDnsZoneGroupArgs(
                resource_group_name=self._args.resource_group_name,
                private_endpoint_name=endpoint.name,
                private_dns_zone_group_name="default",
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(name=service, private_dns_zone_id=self.zone_ids[service])
                ],
            ),
            pulumi.ResourceOptions(depends_on=[self._links[service]]),
            name=f"pe-{service}-dns",
        )
        return endpoint


def public_ip(
    block: Block,
    key: str,
    resource_group_name: pulumi.Input[str],
    location: str,
    *,
    name: str = "pip",
    zones: list[str] | None = None,
    dns_label: str | None = None,
) -> PublicIPAddress:
    """A static Standard public IP (child ``key`` of ``block``), zone-redundant when ``zones`` are given."""
    import pulumi_azure_native.network as network

    return block.child(
        key,
        network.PublicIPAddress,
        network.PublicIPAddressInitArgs(
            resource_group_name=resource_group_name,
            location=location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            zones=zones or None,
            dns_settings=network.PublicIPAddressDnsSettingsArgs(domain_name_label=dns_label) if dns_label else None,
        ),
        name=name,
    )


def linked_zone(
    block: Block,
    zone_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    *,
    key: str = "",
) -> tuple[PrivateZone, VirtualNetworkLink]:
    """A private DNS zone (children ``zone<key>``, ``link<key>`` of ``block``) linked to the VNet, so
    names in it resolve there; returns (zone, link)."""
    import pulumi_azure_native.privatedns as privatedns

    zone = block.child(
        f"zone{key}",
        privatedns.PrivateZone,
        privatedns.PrivateZoneArgs(
            resource_group_name=resource_group_name, location="global", private_zone_name=zone_name
        ),
    )
    link = block.child(
        f"link{key}",
        privatedns.VirtualNetworkLink,
        privatedns.VirtualNetworkLinkArgs(
            resource_group_name=resource_group_name,
            private_zone_name=zone.name,
            location="global",
            registration_enabled=False,
            virtual_network=privatedns.SubResourceArgs(id=vnet_id),
        ),
    )
    return zone, link


def subnet_prefixes(cidr_block: str) -> dict[str, str]:
    """Each subnet's prefix, carved from the VNet in /24 steps (the apps subnet takes two)."""
    network = ipaddress.IPv4Network(cidr_block)
    base = int(network.network_address)
    return {
        key: str(ipaddress.IPv4Network((base + index * 256, prefix))) for key, (index, prefix, _) in SUBNETS.items()
    }


def _validate(args: NetworkArgs) -> None:
    problem = validation.private_cidr(args.cidr_block, min_prefix=16, max_prefix=21)
    if problem:
        raise ValueError(f"NetworkArgs.cidr_block={args.cidr_block!r}: {problem}")
    if not 1 <= args.flow_log_retention_days <= 365:
        raise ValueError(f"NetworkArgs.flow_log_retention_days={args.flow_log_retention_days}: allowed 1 to 365")
    unknown = sorted(set(args.private_dns_zones) - set(PRIVATE_DNS_ZONES))
    if unknown:
        raise ValueError(
            f"NetworkArgs.private_dns_zones: unknown services {unknown}; allowed {sorted(PRIVATE_DNS_ZONES)}"
        )
