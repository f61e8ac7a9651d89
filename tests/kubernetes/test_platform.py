"""AiPlatform on Kubernetes: both shipped stacks pass the pack, every pod is covered by NetworkPolicies
behind a default deny, the app reaches Redis and PostgreSQL over verified TLS, and the package imports
no typed SDK module until a block is built."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from components.kubernetes.mocks import planned_app_settings
from policies.rules.kubernetes import selector_matches
from tests.kubernetes.conftest import ROOT, changed, mandatory, stack

STACKS = ["k8s-local", "k8s-prod"]
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")


@pytest.mark.parametrize("name", STACKS)
def test_the_shipped_stack_has_no_mandatory_violation(name: str) -> None:
    assert mandatory(stack(name)) == []


@pytest.mark.parametrize("name", STACKS)
def test_every_pod_has_an_allow_policy_behind_the_default_deny(name: str) -> None:
    graph = stack(name)
    policies = [r.inputs for r in graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")]
    assert any(p["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]} for p in policies)
    for workload in [r for token in WORKLOADS for r in graph.of_type(token)]:
        labels = workload.inputs["spec"]["template"]["metadata"]["labels"]
        selecting = [
            p for p in policies if p["spec"]["podSelector"] and selector_matches(p["spec"]["podSelector"], labels)
        ]
        assert any("Ingress" in p["spec"]["policyTypes"] for p in selecting), workload.name
        assert workload.inputs["metadata"]["namespace"] == "ai-platform"


def test_the_app_verifies_redis_and_signs_in_to_postgres_with_its_certificate() -> None:
    graph = stack("k8s-local")
    environment, secrets, port = planned_app_settings(graph)
    assert port == 8000
    assert environment["APP_REDIS_URL"] == (
        "rediss://ai-platform-redis.ai-platform.svc:6379/0?ssl_ca_certs=/var/run/ai-platform/redis/ca.crt"
    )
    assert environment["APP_DATABASE_URL"] == (
        "postgresql://ai_api@ai-platform-postgres.ai-platform.svc:5432/ai?sslmode=verify-full"
        "&sslrootcert=/var/run/ai-platform/database/ca.crt&sslcert=/var/run/ai-platform/database/tls.crt"
        "&sslkey=/var/run/ai-platform/database/tls.key"
    )
    assert (environment["APP_QUEUE_BACKEND"], environment["APP_QUEUE_URL"]) == ("redis", "ai-jobs")
    assert "APP_REDIS_PASSWORD" in secrets and "APP_DATABASE_IAM_AUTH" not in environment
    pod = graph.one("kubernetes:apps/v1:Deployment", "ai-platform-api-deployment").inputs["spec"]["template"]["spec"]
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert {"/var/run/ai-platform/redis", "/var/run/ai-platform/database"} <= mounts


def test_prod_protects_data_and_keeps_volumes() -> None:
    graph = stack("k8s-prod")
    redis = graph.one("kubernetes:apps/v1:StatefulSet")
    assert redis.protect and redis.inputs["spec"]["replicas"] == 2
    assert all(r.protect for r in graph.of_type("kubernetes:core/v1:Secret"))
    platform = graph.one("ai-platform:kubernetes:AiPlatform")
    assert platform.inputs["optOuts"] == []


def test_the_local_stack_records_its_opt_out_and_protects_nothing() -> None:
    graph = stack("k8s-local")
    assert graph.one("ai-platform:kubernetes:AiPlatform").inputs["optOuts"] == ["kubernetes.singleReplica"]
    assert not any(r.protect for r in graph.resources)


def test_importing_the_package_loads_no_typed_sdk_module() -> None:
    """The typed modules cost about a second together: blocks import them when first built."""
    code = (
        "import json, sys, components.kubernetes; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('pulumi_kubernetes.'))))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    )
    assert [
        m for m in loaded if m.split(".")[1] in {"core", "apps", "networking", "policy", "autoscaling", "apiextensions"}
    ] == []


def test_an_external_redis_replaces_the_stateful_set() -> None:
    config = changed(
        "k8s-prod",
        "ai-platform:kubernetes",
        lambda old: {
            **{k: v for k, v in old.items() if k != "redisImage"},
            "externalCache": {"host": "redis.example.com", "port": 6380, "cidr": "10.20.0.0/24"},
        },
    )
    graph = plan_stack(replace(load_stack(ROOT, "k8s-prod"), config=config))
    assert graph.of_type("ai-platform:kubernetes:Cache") == []
    environment, secrets, _ = planned_app_settings(graph)
    assert environment["APP_REDIS_URL"] == "rediss://redis.example.com:6380/0"
    assert "APP_REDIS_PASSWORD" in secrets and environment["APP_QUEUE_BACKEND"] == "redis"
    policies = {r.name: r.inputs["spec"] for r in graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    for name in ("ai-platform-api-allow-data-0", "ai-platform-api-worker-allow-data-0"):
        assert policies[name]["egress"] == [
            {"to": [{"ipBlock": {"cidr": "10.20.0.0/24"}}], "ports": [{"port": 6380, "protocol": "TCP"}]}
        ]
    assert mandatory(graph) == []
