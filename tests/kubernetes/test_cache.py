"""Cache: Redis over TLS only, AUTH from a Secret, a volume per pod, replicas with a PDB, reachable only
from the pods let in."""

from __future__ import annotations

from typing import Any

import pytest

from components.kubernetes.cache import Cache, CacheArgs
from components.kubernetes.objects import Pods
from components.testing import Graph
from tests.kubernetes.conftest import DIGEST, NAMESPACE, TAGS, plan_block, secret_store

APP = Pods(NAMESPACE, {"app.kubernetes.io/name": "api"})


def planned(**changes: Any) -> Graph:
    def program() -> None:
        store = secret_store()
        values: dict[str, Any] = {
            "tags": TAGS,
            "namespace": NAMESPACE,
            "part_of": "ai-api",
            "image": DIGEST,
            "secret_store": store,
            "auth_token": "t" * 32,
            "auth_token_key": "redisAuthToken",
            **changes,
        }
        Cache("redis", CacheArgs(**values)).allow_from("api", APP)

    return plan_block(program)


def test_tls_only_with_auth_from_a_secret() -> None:
    graph = planned()
    config = next(r for r in graph.of_type("kubernetes:core/v1:Secret") if r.name == "redis-config")
    assert config.inputs["stringData"] == "[secret]"
    sts = graph.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]
    (redis,) = sts["template"]["spec"]["containers"]
    assert redis["env"] == [
        {"name": "REDISCLI_AUTH", "valueFrom": {"secretKeyRef": {"name": "store-app", "key": "redisAuthToken"}}}
    ]
    assert "--tls" in redis["readinessProbe"]["exec"]["command"]
    assert redis["securityContext"]["readOnlyRootFilesystem"] is True
    assert sts["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "10Gi"}}
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    certificate = graph.one("kubernetes:cert-manager.io/v1:Certificate", "redis-certificate").inputs["spec"]
    assert "redis.ai-platform.svc" in certificate["dnsNames"] and certificate["secretName"] == "redis-tls"


def test_the_client_service_selects_the_primary_only() -> None:
    services = {r.name: r.inputs["spec"] for r in planned().of_type("kubernetes:core/v1:Service")}
    assert services["redis-service"]["selector"]["statefulset.kubernetes.io/pod-name"] == "redis-0"
    assert services["redis-service"]["type"] == "ClusterIP"
    assert services["redis-headless"]["clusterIP"] == "None"


def test_replicas_get_a_disruption_budget_and_may_reach_each_other() -> None:
    graph = planned(replicas=2, retain_volumes=False)
    assert graph.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]["replicas"] == 2
    assert graph.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]["maxUnavailable"] == 1
    names = {r.name for r in graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert {"redis-allow-replicas", "redis-allow-api", "redis-allow-api-out"} <= names


def test_only_the_admitted_pods_reach_it() -> None:
    policies = {r.name: r.inputs["spec"] for r in planned().of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    ingress = policies["redis-allow-api"]
    assert ingress["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "redis"
    assert ingress["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}}],
            "ports": [{"port": 6379, "protocol": "TCP"}],
        }
    ]
    assert policies["redis-allow-api-out"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "api"}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"image": "redis:7"}, "CacheArgs.image"),
        ({"replicas": 0}, "CacheArgs.replicas 0"),
        ({"memory_mib": 64}, "CacheArgs.memory_mib 64"),
        ({"volume_gib": 0}, "CacheArgs.volume_gib 0"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        planned(**changes)


@pytest.mark.parametrize("token", ["short", 'a-token-with-a-"quote"-inside', "a token with spaces in it"])
def test_a_token_that_would_break_the_config_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match=r"CacheArgs\.auth_token: must be at least 16 printable"):
        planned(auth_token=token)


def test_failover_is_moving_the_primary_ordinal() -> None:
    """Manual failover: kubernetes.redisPrimary 1 and `pulumi up` make pod 1 the primary and pod 0 its replica."""
    graph = planned(replicas=2, primary=1)
    service = next(s for s in graph.of_type("kubernetes:core/v1:Service") if s.name == "redis-service")
    assert service.inputs["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] == "redis-1"
    command = graph.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]["template"]["spec"]["containers"][0]["command"]
    assert '"${HOSTNAME##*-}" = 1 ]' in command[2]
    assert "--replicaof redis-1.redis-headless.ai-platform.svc 6379" in command[2]


def test_the_primary_must_be_a_pod() -> None:
    with pytest.raises(ValueError, match=r"CacheArgs\.primary 2"):
        planned(replicas=2, primary=2)
