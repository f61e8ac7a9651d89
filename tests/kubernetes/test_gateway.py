"""Gateway: an Ingress (TLS, redirect, rate and body-size limits) or Gateway API objects, passing the pack."""

from __future__ import annotations

from typing import Any

import pytest

from components.kubernetes.gateway import Gateway, GatewayArgs
from components.testing import Graph
from tests.kubernetes.conftest import NAMESPACE, TAGS, mandatory, plan_block

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"


def args(**changes: Any) -> GatewayArgs:
    values: dict[str, Any] = {
        "tags": TAGS,
        "namespace": NAMESPACE,
        "domain": "api.example.com",
        "service_name": "api",
        "service_port": 8000,
        "cluster_issuer": "letsencrypt",
        **changes,
    }
    return GatewayArgs(**values)


def planned(**changes: Any) -> Graph:
    return plan_block(lambda: Gateway("edge", args(**changes)))


def test_the_ingress_serves_tls_with_limits() -> None:
    graph = planned(rate_limit_per_minute=120, max_body_bytes=2048, ip_allowlist=["203.0.113.0/24"])
    ingress = graph.one(INGRESS).inputs
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "120"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "2048"
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/whitelist-source-range"] == "203.0.113.0/24"
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["spec"]["tls"] == [{"hosts": ["api.example.com"], "secretName": "edge-tls"}]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert [v for v in mandatory(graph) if v[0] != "budget-and-alerts"] == []


def test_a_given_certificate_secret() -> None:
    ingress = planned(cluster_issuer=None, tls_secret_name="api-cert").one(INGRESS).inputs
    assert ingress["spec"]["tls"][0]["secretName"] == "api-cert"
    assert "cert-manager.io/cluster-issuer" not in ingress["metadata"]["annotations"]


def _no_tls(a: Any, opts: Any) -> None:
    a.spec.tls = None


def _no_limits(a: Any, opts: Any) -> None:
    a.metadata.annotations = {}


@pytest.mark.parametrize(
    ("change", "policy"),
    [(_no_tls, "tls-in-transit"), (_no_limits, "rate-limiting"), (_no_limits, "request-size-limits")],
)
def test_an_ingress_without_tls_or_limits_is_a_mandatory_violation(change: Any, policy: str) -> None:
    assert policy in {p for p, _ in mandatory(planned(transform={"ingress": change}))}


def test_gateway_api_redirects_http_and_routes_https() -> None:
    graph = planned(kind="gateway", class_name="eg")
    gateway = graph.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    listeners = {item["name"]: item for item in gateway.inputs["spec"]["listeners"]}
    assert gateway.inputs["spec"]["gatewayClassName"] == "eg"
    assert listeners["https"]["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"kind": "Secret", "name": "edge-tls"}],
    }
    assert listeners["http"]["port"] == 80
    routes = {r.name: r.inputs["spec"] for r in graph.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")}
    redirect = routes["edge-redirect"]
    assert redirect["parentRefs"] == [{"name": "edge", "sectionName": "http"}]
    assert redirect["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    assert routes["edge-route"]["rules"][0]["backendRefs"] == [{"name": "api", "port": 8000}]
    assert graph.of_type(INGRESS) == []


def test_gateway_api_limits_each_client_and_the_body_with_envoy_gateway_policies() -> None:
    graph = planned(kind="gateway", class_name="eg", rate_limit_per_minute=120, max_body_bytes=2048)
    limits = graph.one(TRAFFIC_POLICY).inputs["spec"]
    route = {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "edge"}
    assert limits["targetRefs"] == [route]
    assert limits["rateLimit"]["local"]["rules"] == [
        {
            "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}],
            "limit": {"requests": 120, "unit": "Minute"},
        }
        for cidr in ("0.0.0.0/0", "::/0")
    ]
    assert limits["requestBuffer"] == {"limit": "2048"}
    assert graph.of_type(SECURITY_POLICY) == []  # no allowlist, no SecurityPolicy
    assert [v for v in mandatory(graph) if v[0] != "budget-and-alerts"] == []


def test_gateway_api_allowlist_is_a_security_policy() -> None:
    graph = planned(kind="gateway", class_name="eg", ip_allowlist=["203.0.113.0/24"])
    authorization = graph.one(SECURITY_POLICY).inputs["spec"]["authorization"]
    assert authorization == {
        "defaultAction": "Deny",
        "rules": [{"action": "Allow", "principal": {"clientCIDRs": ["203.0.113.0/24"]}}],
    }


def _no_gateway_limits(a: Any, opts: Any) -> None:
    del a["spec"]["rateLimit"], a["spec"]["requestBuffer"]


def test_gateway_limits_removed_by_a_transform_are_mandatory_violations() -> None:
    graph = planned(kind="gateway", class_name="eg", transform={"limits": _no_gateway_limits})
    assert {"rate-limiting", "request-size-limits"} <= {p for p, _ in mandatory(graph)}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"domain": "API.example.com"}, "GatewayArgs.domain"),
        ({"tls_secret_name": "x"}, "exactly one of cluster_issuer"),
        ({"kind": "nodeport"}, "GatewayArgs.kind"),
        ({"max_body_bytes": 0}, "0 means unlimited"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Gateway("edge", args(**changes))


def _plain_listener_serves_the_app(a: Any, opts: Any) -> None:
    a["spec"]["parentRefs"] = [{"name": "edge"}]  # no sectionName: every listener, plain HTTP included


def _redirect_to_http(a: Any, opts: Any) -> None:
    a["spec"]["rules"][0]["filters"][0]["requestRedirect"]["scheme"] = "http"


def _no_certificate(a: Any, opts: Any) -> None:
    a["spec"]["listeners"][0].pop("tls")


def _only_http(a: Any, opts: Any) -> None:
    a["spec"]["listeners"] = [a["spec"]["listeners"][1]]


@pytest.mark.parametrize(
    ("key", "change", "policy", "words"),
    [
        ("route", _plain_listener_serves_the_app, "https-redirect", "plain HTTP listener of Gateway edge"),
        ("redirect", _redirect_to_http, "https-redirect", "does not only redirect to https"),
        ("gateway", _no_certificate, "tls-in-transit", 'listener "https" is HTTPS with no tls.certificateRefs'),
        ("gateway", _only_http, "tls-in-transit", "no HTTPS listener"),
    ],
)
def test_gateway_api_plain_http_is_a_mandatory_violation(key: str, change: Any, policy: str, words: str) -> None:
    found = mandatory(planned(kind="gateway", class_name="eg", transform={key: change}))
    assert any(p == policy and words in m for p, m in found), found
