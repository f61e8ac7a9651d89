"""The ``ai-platform:kubernetes`` section and the Kubernetes rules: each bad input is a spec error naming
the key, the value and what is allowed; each insecure choice needs its named opt-out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.kubernetes.spec import KubernetesSpec, label_problem, replicas
from components.spec import SpecError
from tests.kubernetes.conftest import changed, spec_of, stack_config

K8S = "ai-platform:kubernetes"
APP = "ai-platform:app"


def section(**changes: Any) -> Callable[[Any], Any]:
    return lambda old: {**old, **changes}


CASES: list[tuple[str, str, str, Callable[[Any], Any], str]] = [
    ("default namespace", "k8s-local", K8S, section(namespace="default"), "namespace of the cluster itself"),
    ("kube-system", "k8s-local", K8S, section(namespace="kube-system"), "namespace of the cluster itself"),
    ("bad namespace", "k8s-local", K8S, section(namespace="AI_platform"), "DNS label"),
    ("one replica without opt-out", "k8s-local", K8S, section(insecure={}), "kubernetes.insecure.singleReplica"),
    (
        "single-replica opt-out in prod",
        "k8s-prod",
        K8S,
        section(insecure={"singleReplica": True}),
        "dev-only opt-out",
    ),
    ("one replica in prod", "k8s-prod", APP, section(minReplicas=1), "at least 2 in prod"),
    ("image built, not pinned", "k8s-local", APP, section(image={"build": "app"}), "pinned by digest"),
    ("latest tag", "k8s-local", APP, section(image={"digest": "redis:latest"}), "pinned by digest"),
    ("redis by tag", "k8s-local", K8S, section(redisImage="redis:7.4"), "pinned by digest"),
    (
        "no redis image",
        "k8s-prod",
        K8S,
        lambda old: {k: v for k, v in old.items() if k != "redisImage"},
        "kubernetes.redisImage",
    ),
    (
        "secret in plain env",
        "k8s-local",
        APP,
        lambda old: {**old, "environment": {"DB_PASSWORD": "x"}},
        "looks like a secret",
    ),
    ("no egress choice", "k8s-local", K8S, section(llmEgressAnywhere=False), "llmEgressAnywhere"),
    ("bad egress CIDR", "k8s-local", K8S, section(llmEgressCidrs=["10.0.0.1/8"]), "IPv4 CIDR"),
    (
        "two certificate sources",
        "k8s-local",
        K8S,
        section(tls={"clusterIssuer": "x", "secretName": "y"}),
        "exactly one",
    ),
    ("unpinned PSA version", "k8s-local", K8S, section(podSecurityVersion="latest"), "pin a Kubernetes minor"),
    ("unknown edge", "k8s-local", K8S, section(edge={"kind": "loadbalancer"}), "'ingress' or 'gateway'"),
    ("unknown key", "k8s-local", K8S, section(serviceType="LoadBalancer"), "not a known setting"),
    (
        "prod vector store in the cluster",
        "k8s-prod",
        K8S,
        lambda old: {k: v for k, v in old.items() if k != "externalVectorStore"},
        "single instance",
    ),
    (
        "external vector store without its addresses",
        "k8s-prod",
        K8S,
        lambda old: {**old, "externalVectorStore": {"urlKey": "vectorStoreUrl"}},
        "kubernetes.externalVectorStore.cidr",
    ),
    ("queue without cache", "k8s-prod", "ai-platform:cache", lambda old: {"enabled": False}, "Redis Stream"),
    (
        "bad external cache host",
        "k8s-prod",
        K8S,
        section(externalCache={"host": "Redis_1", "cidr": "10.0.0.0/24"}),
        "DNS name",
    ),
    ("bad label value", "k8s-local", "ai-platform:tags", lambda old: {**old, "owner": "team a!"}, "label value"),
    ("redis primary beyond its pods", "k8s-local", K8S, section(redisPrimary=1), "ordinal of a Redis pod: 0 to 0"),
]


@pytest.mark.parametrize(("stack", "key", "change", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_spec_error(stack: str, key: str, change: Callable[[Any], Any], words: str) -> None:
    with pytest.raises(SpecError, match=words.replace(".", r"\.").replace("(", r"\(")):
        spec_of(changed(stack, key, change), stack)


def test_the_shipped_stacks_are_valid() -> None:
    for name in ("k8s-local", "k8s-prod"):
        config, _ = stack_config(name)
        spec = spec_of(config, name)
        assert spec.cloud == "kubernetes"


def test_replicas_default_to_the_seed_three() -> None:
    spec = spec_of(
        changed("k8s-prod", APP, lambda old: {k: v for k, v in old.items() if k != "minReplicas"}),
        "k8s-prod",
    )
    assert replicas(spec) == 3


def test_the_opt_out_is_named_for_the_policy_pack() -> None:
    section = KubernetesSpec(llm_egress_anywhere=True, insecure={"single_replica": True})  # type: ignore[arg-type]
    assert section.insecure.in_force("kubernetes") == ["kubernetes.singleReplica"]
    assert KubernetesSpec(llm_egress_anywhere=True).insecure.in_force("kubernetes") == []


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("owner", "team-a", True),
        ("app.kubernetes.io/name", "api", True),
        ("owner", "a b", False),
        ("bad key!", "x", False),
        ("owner", "x" * 64, False),
        ("owner", "", True),
    ],
)
def test_label_syntax(key: str, value: str, ok: bool) -> None:
    assert (label_problem(key, value) is None) is ok


def test_prod_may_fail_over_to_the_redis_standby() -> None:
    config = changed("k8s-prod", K8S, section(redisPrimary=1))
    assert spec_of(config, "k8s-prod").section(KubernetesSpec).redis_primary == 1
