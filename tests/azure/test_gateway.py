"""Gateway: Application Gateway WAF_v2 with TLS 1.2+, HTTP only redirecting, a WAF policy and the certificate."""

from __future__ import annotations

from typing import Any

import pytest

from components.azure.gateway import Gateway, GatewayArgs
from tests.azure.conftest import SUBSCRIPTION_ID, WHERE, plan_azure

CERT = "https://certs-kv.vault.azure.net/secrets/api-example-com"
VAULT = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/certs/providers/Microsoft.KeyVault/vaults/certs-kv"


def args(**changes: Any) -> GatewayArgs:
    values: dict[str, Any] = {
        **WHERE,
        "subscription_id": SUBSCRIPTION_ID,
        "subnet_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/gateway",
        "domain": "api.example.com",
        "certificate_secret_id": CERT,
        "certificate_key_vault_id": VAULT,
        "backend_host": "apim.azure-api.net",
        "backend_ip": "10.0.1.4",
        **changes,
    }
    return GatewayArgs(**values)


def test_gateway_terminates_tls_and_redirects_http() -> None:
    graph = plan_azure(lambda: Gateway("gw", args(zones=["1", "2", "3"])))
    agw = graph.one("azure-native:network:ApplicationGateway").inputs
    assert agw["sku"] == {"name": "WAF_v2", "tier": "WAF_v2"} and agw["zones"] == ["1", "2", "3"]
    assert agw["sslPolicy"] == {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101"}
    assert agw["sslCertificates"] == [{"name": "api", "keyVaultSecretId": CERT}]
    (redirect,) = agw["redirectConfigurations"]
    assert redirect["redirectType"] == "Permanent" and redirect["targetListener"]["id"].endswith("/httpListeners/https")
    (probe,) = agw["probes"]
    assert probe["path"] == "/health" and probe["host"] == "apim.azure-api.net"
    # the gateway reads the certificate as its identity: it waits for that identity's role
    reader = graph.one("azure-native:authorization:RoleAssignment")
    assert reader.inputs["scope"] == VAULT
    assert reader.urn in graph.one("azure-native:network:ApplicationGateway").dependencies


def test_waf_policy_blocks_with_owasp_bots_rate_and_body_limits() -> None:
    graph = plan_azure(lambda: Gateway("gw", args(rate_limit_per_ip=500, ip_allowlist=["203.0.113.0/24"])))
    waf = graph.one("azure-native:network:WebApplicationFirewallPolicy").inputs
    assert waf["policySettings"]["mode"] == "Prevention" and waf["policySettings"]["maxRequestBodySizeInKb"] == 1024
    sets = [(s["ruleSetType"], s["ruleSetVersion"]) for s in waf["managedRules"]["managedRuleSets"]]
    assert sets == [("OWASP", "3.2"), ("Microsoft_BotManagerRuleSet", "1.1")]
    rules = {r["name"]: r for r in waf["customRules"]}
    assert rules["RateLimitPerClient"]["rateLimitThreshold"] == 500
    assert rules["RateLimitPerClient"]["groupByUserSession"][0]["groupByVariables"] == [{"variableName": "ClientAddr"}]
    assert rules["OnlyAllowlisted"]["matchConditions"][0]["negationConditon"] is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"waf_mode": "Off"}, "GatewayArgs.waf_mode='Off': allowed Prevention or Detection"),
        ({"certificate_secret_id": "https://x.example.com/c"}, "GatewayArgs.certificate_secret_id="),
        ({"domain": "Not A Domain"}, "GatewayArgs.domain="),
        ({"max_body_bytes": 4 * 1024 * 1024}, "GatewayArgs.max_body_bytes=4194304"),
        ({"min_capacity": 5, "max_capacity": 2}, "GatewayArgs.min_capacity=5, max_capacity=2"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Gateway("gw", args(**changes))
