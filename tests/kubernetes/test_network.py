"""Network: the namespace enforces Pod Security ``restricted`` at a pinned version, and a default deny
closes it (DNS to kube-dns is the only path this block opens)."""

from __future__ import annotations

import pytest

from components.kubernetes.network import Network, NetworkArgs
from tests.kubernetes.conftest import TAGS, plan_block


def test_the_namespace_enforces_the_restricted_profile() -> None:
    graph = plan_block(lambda: Network("net", NetworkArgs(tags=TAGS, namespace="apps", pod_security_version="v1.33")))
    labels = graph.one("kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.33"
    assert labels["owner"] == "team-a"


def test_default_deny_then_dns_only() -> None:
    graph = plan_block(lambda: Network("net", NetworkArgs(tags=TAGS, namespace="apps")))
    policies = {r.name: r for r in graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    namespace = graph.one("kubernetes:core/v1:Namespace")
    deny = policies["net-default-deny"]
    assert deny.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert namespace.urn in deny.dependencies
    dns = policies["net-allow-dns"].inputs["spec"]
    assert dns["policyTypes"] == ["Egress"]
    assert dns["egress"][0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert dns["egress"][0]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


@pytest.mark.parametrize(("namespace", "words"), [("default", "must not be default"), ("Apps", "DNS label")])
def test_bad_namespaces_are_refused(namespace: str, words: str) -> None:
    with pytest.raises(ValueError, match=f"NetworkArgs.namespace '{namespace}': .*{words}"):
        Network("net", NetworkArgs(namespace=namespace))
