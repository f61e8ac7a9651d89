"""GCP, Azure and Kubernetes formulas against figures computed by hand from their tables'
published prices (730 hours a month; usage fixed by a usage file where a figure rests on it)."""

from __future__ import annotations

import pytest

from components.cost import Estimate, estimate
from components.cost.usage import parse
from tests.cost.conftest import planned


def run(stack: str, usage: dict | None = None) -> Estimate:
    graph, spec = planned(stack)
    return estimate(graph, spec, parse(usage or {}, "usage.yaml"))


def monthly(result: Estimate, resource: str) -> float:
    found = [item.monthly for item in result.items if item.resource == resource]
    assert found, f"no line items for {resource}"
    return sum(found)


def test_gcp_cloud_run_cloud_sql_memorystore_and_armor() -> None:
    result = run(
        "gcp-prod",
        {
            "resources": {
                "ai-platform-service-run": {"requestsMillions": 2},
                "ai-platform-gateway-armor": {"requestsMillions": 2},
            }
        },
    )
    # 3 minimum instances x (1 vCPU x $0.0648 + 1 GiB x $0.0072) an hour + $0.40 per million requests
    assert monthly(result, "ai-platform-service-run") == pytest.approx(3 * 730 * (0.0648 + 0.0072) + 2 * 0.40)
    # db-custom-4-16384, regional: 4 x $0.0908 + 16 GB x $0.0154 an hour; 10 GB SSD at $0.374
    assert monthly(result, "ai-platform-vectors-postgres") == pytest.approx(730 * (4 * 0.0908 + 16 * 0.0154) + 3.74)
    assert monthly(result, "ai-platform-cache-redis") == pytest.approx(5 * 730 * 0.059)  # Standard M2, 5 GB
    assert monthly(result, "ai-platform-gateway-armor") == pytest.approx(5 + 13 * 1 + 2 * 0.75)  # policy, 13 rules


def test_azure_container_app_gateway_and_postgres() -> None:
    result = run("azure-prod", {"resources": {"ai-platform-service-app": {"requestsMillions": 1}}})
    # 2 minimum replicas x (1 vCPU x $0.0864 + 2 GiB x $0.0108) an hour + $0.40 per million requests
    assert monthly(result, "ai-platform-service-app") == pytest.approx(2 * 730 * (0.0864 + 2 * 0.0108) + 0.40)
    # WAF_v2: $0.443 an hour + 2 reserved capacity units x $0.0072
    gateway = next(i.resource for i in result.items if i.type == "azure-native:network:ApplicationGateway")
    assert monthly(result, gateway) == pytest.approx(730 * (0.443 + 2 * 0.0072))
    # zone-redundant HA: two D2ds_v5 servers and two copies of 128 GB
    server = next(i.resource for i in result.items if i.type == "azure-native:dbforpostgresql:Server")
    assert monthly(result, server) == pytest.approx(2 * 730 * 0.194 + 2 * 128 * 0.127)


def test_azure_sku_without_a_price_is_listed_naming_the_missing_entry() -> None:
    result = run("azure-dev")
    (redis,) = [u for u in result.not_priced if u.type == "azure-native:redisenterprise:RedisEnterprise"]
    assert redis.reason == "prices.json: no price 'redis-balanced_b0-no-ha-hour'"


def test_kubernetes_prices_requested_cpu_memory_and_volumes() -> None:
    result = run("k8s-prod")
    # 3 replicas x (0.5 vCPU x $0.021811 + 1 GiB x $0.002923) an hour
    assert monthly(result, "ai-platform-api-deployment") == pytest.approx(3 * 730 * (0.5 * 0.021811 + 0.002923))
    # 2 replicas x (0.1 vCPU, 0.5 GiB) an hour + 2 x 20 GiB claims at $0.10
    redis = 2 * 730 * (0.1 * 0.021811 + 0.5 * 0.002923) + 2 * 20 * 0.10
    assert monthly(result, "ai-platform-redis-statefulset") == pytest.approx(redis)
    assert result.region is None and not [
        u for u in result.not_priced if u.type != "kubernetes:networking.k8s.io/v1:Ingress"
    ]
