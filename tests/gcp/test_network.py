"""Network: custom-mode VPC, subnetwork with flow logs and Private Google Access, NAT, PSA, firewalls."""

from __future__ import annotations

import pytest

from components.gcp.network import GOOGLE_LB_RANGES, Network, NetworkArgs
from components.testing import plan
from tests.gcp.conftest import PROJECT, REGION, ChildKeys


def test_custom_vpc_with_private_subnet_nat_and_psa(child_keys: ChildKeys) -> None:
    graph = plan(lambda: Network("net", NetworkArgs(project=PROJECT, region=REGION, cidr_block="10.8.0.0/16")))
    assert graph.one("gcp:compute/network:Network").inputs["autoCreateSubnetworks"] is False
    subnet = graph.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["ipCidrRange"] == "10.8.0.0/17" and subnet["privateIpGoogleAccess"] is True
    assert subnet["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"
    psa = graph.named("net-psa-range").inputs
    assert (psa["purpose"], psa["address"], psa["prefixLength"]) == ("VPC_PEERING", "10.8.128.0", 17)
    connection = graph.one("gcp:servicenetworking/connection:Connection")
    assert graph.named("net-psa-range").urn in connection.property_dependencies["reservedPeeringRanges"]
    assert graph.one("gcp:compute/routerNat:RouterNat").inputs["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}
    assert child_keys.undocumented(NetworkArgs) == []


def test_firewall_denies_all_ingress_and_admits_only_google_load_balancers() -> None:
    graph = plan(lambda: Network("net", NetworkArgs(project=PROJECT, region=REGION, app_port=8080)))
    deny, allow = graph.named("net-deny-ingress").inputs, graph.named("net-allow-lb").inputs
    assert deny["denies"] == [{"protocol": "all"}] and deny["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"}
    assert allow["sourceRanges"] == list(GOOGLE_LB_RANGES)
    assert allow["allows"] == [{"protocol": "tcp", "ports": ["8080"]}]
    allowing = [f for f in graph.of_type("gcp:compute/firewall:Firewall") if "allows" in f.inputs]
    assert all("0.0.0.0/0" not in f.inputs["sourceRanges"] for f in allowing)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cidr_block": "8.8.0.0/16"}, "NetworkArgs.cidr_block='8.8.0.0/16': must be a private"),
        ({"cidr_block": "10.0.0.0/8"}, "NetworkArgs.cidr_block='10.0.0.0/8': prefix /8 is not allowed"),
        ({"app_port": 0}, "NetworkArgs.app_port=0: must be 1-65535"),
    ],
)
def test_bad_args_are_refused_by_name(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Network("net", NetworkArgs(project=PROJECT, region=REGION, **changes))  # type: ignore[arg-type]
