"""Network: subnets with NSGs (one at a time), private DNS zones linked, endpoints with zone groups, flow log."""

from __future__ import annotations

import itertools

import pulumi
import pytest

from components.azure.network import Network, NetworkArgs, subnet_prefixes
from tests.azure.conftest import WHERE, plan_azure


def test_subnets_are_carved_in_order_with_delegations_and_nsgs() -> None:
    graph = plan_azure(lambda: Network("net", NetworkArgs(**WHERE, cidr_block="10.5.0.0/16")))
    subnets = {s.inputs["subnetName"]: s for s in graph.of_type("azure-native:network:Subnet")}
    assert {k: s.inputs["addressPrefix"] for k, s in subnets.items()} == subnet_prefixes("10.5.0.0/16")
    assert subnets["apps"].inputs["addressPrefix"] == "10.5.2.0/23"
    assert subnets["apps"].inputs["delegations"][0]["serviceName"] == "Microsoft.App/environments"
    assert subnets["postgres"].inputs["delegations"][0]["serviceName"] == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert all(
        s.inputs["defaultOutboundAccess"] is False and "networkSecurityGroup" in s.inputs for s in subnets.values()
    )
    # each subnet waits for the one before (Azure changes one subnet of a VNet at a time)
    order = list(subnets.values())
    for before, after in itertools.pairwise(order):
        assert before.urn in after.dependencies
    # no default outbound access: only API Management and the apps leave through the NAT gateway
    assert sorted(k for k, s in subnets.items() if "natGateway" in s.inputs) == ["apim", "apps"]
    apim_rules = graph.named("net-nsg-apim").inputs["securityRules"]
    assert {r["sourceAddressPrefix"]: r["destinationPortRange"] for r in apim_rules}["ApiManagement"] == "3443"


def test_private_endpoint_gets_a_zone_group_after_the_zone_link() -> None:
    def program() -> None:
        net = Network("net", NetworkArgs(**WHERE))
        target = pulumi.CustomResource("azure-native:keyvault:Vault", "kv", {"resourceGroupName": "rg"})
        net.private_endpoint(
            "vault", target, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
        )

    graph = plan_azure(program)
    endpoint = graph.one("azure-native:network:PrivateEndpoint")
    (connection,) = endpoint.inputs["privateLinkServiceConnections"]
    assert connection["groupIds"] == ["vault"]
    group = graph.one("azure-native:network:PrivateDnsZoneGroup")
    assert graph.named("net-link-vault").urn in group.dependencies
    assert graph.named("net-zone-vault").inputs["privateZoneName"] == "privatelink.vaultcore.azure.net"


def test_flow_log_targets_the_vnet_with_a_private_storage_account() -> None:
    graph = plan_azure(lambda: Network("net", NetworkArgs(**WHERE, flow_log_retention_days=90)))
    flow = graph.one("azure-native:network:FlowLog")
    assert flow.inputs["networkWatcherName"] == "NetworkWatcher_westeurope"
    assert flow.inputs["retentionPolicy"] == {"days": 90, "enabled": True}
    storage = graph.one("azure-native:storage:StorageAccount").inputs
    assert storage["allowBlobPublicAccess"] is False and storage["allowSharedKeyAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2" and storage["publicNetworkAccess"] == "Disabled"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cidr_block": "10.0.0.0/22"}, "NetworkArgs.cidr_block='10.0.0.0/22'"),
        ({"cidr_block": "8.8.0.0/16"}, "private (RFC 1918)"),
        ({"flow_log_retention_days": 0}, "NetworkArgs.flow_log_retention_days=0: allowed 1 to 365"),
        ({"private_dns_zones": {"bogus": "x"}}, "unknown services ['bogus']"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        Network("net", NetworkArgs(**WHERE, **changes))  # pyright: ignore[reportArgumentType]
