"""Gateway: global EXTERNAL_MANAGED HTTPS load balancer, TLS 1.2+ policy, port-80 redirect, Cloud Armor."""

from __future__ import annotations

from typing import Any

import pytest

from components.gcp.gateway import Gateway, GatewayArgs
from components.gcp.spec import WAF_RULE_SETS
from components.testing import plan
from tests.gcp.conftest import PROJECT, REGION, ChildKeys


def _args(**changes: Any) -> GatewayArgs:
    values: dict[str, Any] = {"project": PROJECT, "region": REGION, "service_name": "api", "domain": "api.example.com"}
    return GatewayArgs(**{**values, **changes})


def _rules(graph: Any) -> list[dict[str, Any]]:
    return graph.one("gcp:compute/securityPolicy:SecurityPolicy").inputs["rules"]


def test_https_with_a_tls12_policy_and_a_redirect_only_port_80(child_keys: ChildKeys) -> None:
    graph = plan(lambda: Gateway("gw", _args()))
    ssl = graph.one("gcp:compute/sSLPolicy:SSLPolicy")
    assert ssl.inputs == {**ssl.inputs, "profile": "RESTRICTED", "minTlsVersion": "TLS_1_2"}
    proxy = graph.one("gcp:compute/targetHttpsProxy:TargetHttpsProxy")
    assert ssl.urn in proxy.property_dependencies["sslPolicy"]
    cert = graph.one("gcp:compute/managedSslCertificate:ManagedSslCertificate")
    assert cert.inputs["managed"]["domains"] == ["api.example.com"]
    redirect = graph.named("gw-redirect")
    assert redirect.inputs["defaultUrlRedirect"]["httpsRedirect"] is True and "defaultService" not in redirect.inputs
    http_proxy = graph.one("gcp:compute/targetHttpProxy:TargetHttpProxy")
    assert http_proxy.property_dependencies["urlMap"] == [redirect.urn]
    rules = {r.inputs["portRange"]: r for r in graph.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")}
    assert set(rules) == {"443", "80"}
    assert all(r.inputs["loadBalancingScheme"] == "EXTERNAL_MANAGED" for r in rules.values())
    backend = graph.one("gcp:compute/backendService:BackendService")
    assert backend.inputs["logConfig"] == {"enable": True, "sampleRate": 1}
    policy = graph.one("gcp:compute/securityPolicy:SecurityPolicy")
    assert policy.urn in backend.property_dependencies["securityPolicy"]
    neg = graph.one("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")
    assert neg.inputs["networkEndpointType"] == "SERVERLESS" and neg.inputs["cloudRun"] == {"service": "api"}
    assert child_keys.undocumented(GatewayArgs) == []


def test_cloud_armor_blocks_owasp_cve_size_and_rate_with_adaptive_protection() -> None:
    graph = plan(lambda: Gateway("gw", _args(waf_sensitivity=2, rate_limit_per_ip=600, max_body_bytes=65536)))
    rules = _rules(graph)
    waf = [r for r in rules if "evaluatePreconfiguredWaf" in r.get("match", {}).get("expr", {}).get("expression", "")]
    expressions = [r["match"]["expr"]["expression"] for r in waf]
    for rule_set in WAF_RULE_SETS:
        assert f"evaluatePreconfiguredWaf('{rule_set}-v33-stable', {{'sensitivity': 2}})" in expressions
    assert any("cve-canary" in e for e in expressions)
    assert all(r["action"] == "deny(403)" and r["preview"] is False for r in waf)
    (size,) = [r for r in rules if r["action"] == "deny(413)"]
    assert size["match"]["expr"]["expression"] == "int(request.headers['content-length']) > 65536"
    (throttle,) = [r for r in rules if r["action"] == "throttle"]
    assert throttle["rateLimitOptions"]["enforceOnKey"] == "IP"
    assert throttle["rateLimitOptions"]["rateLimitThreshold"] == {"count": 600, "intervalSec": 300}
    policy = graph.one("gcp:compute/securityPolicy:SecurityPolicy").inputs
    assert policy["adaptiveProtectionConfig"]["layer7DdosDefenseConfig"]["enable"] is True
    assert [r["priority"] for r in rules] == sorted(r["priority"] for r in rules)


def test_count_mode_previews_the_waf_only_and_the_allowlist_denies_others() -> None:
    graph = plan(
        lambda: Gateway("gw", _args(waf_preview=True, adaptive_protection=False, ip_allowlist=["203.0.113.0/24"]))
    )
    rules = _rules(graph)
    assert rules[0]["action"] == "deny(403)"
    assert rules[0]["match"]["expr"]["expression"] == "!(inIpRange(origin.ip, '203.0.113.0/24'))"
    waf = [r for r in rules if "evaluatePreconfiguredWaf" in r.get("match", {}).get("expr", {}).get("expression", "")]
    assert waf and all(r["preview"] is True for r in waf)
    assert all(r.get("preview") is not True for r in rules if r not in waf)
    assert "adaptiveProtectionConfig" not in graph.one("gcp:compute/securityPolicy:SecurityPolicy").inputs


def test_without_waf_no_preconfigured_rules() -> None:
    rules = _rules(plan(lambda: Gateway("gw", _args(waf_enabled=False))))
    assert not [r for r in rules if "evaluatePreconfiguredWaf" in str(r)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ssl_profile": "COMPATIBLE"}, "GatewayArgs.ssl_profile='COMPATIBLE': allowed RESTRICTED or MODERN"),
        ({"waf_sensitivity": 5}, "GatewayArgs.waf_sensitivity=5: must be 1-4"),
        ({"domain": "API.example.com"}, "GatewayArgs.domain='API.example.com'"),
        ({"ip_allowlist": ["10.0.0.1/8"]}, "GatewayArgs.ip_allowlist contains '10.0.0.1/8'"),
        ({"max_body_bytes": 10}, "GatewayArgs.max_body_bytes=10: must be >= 1024"),
    ],
)
def test_bad_args_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Gateway("gw", _args(**changes))
