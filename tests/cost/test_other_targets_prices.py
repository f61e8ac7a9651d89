"""GCP, Azure and Kubernetes formulas against figures computed by hand from their tables'
published prices (730 hours a month; usage fixed by a usage file where a figure rests on it)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from components.cost import Estimate, estimate
from components.cost.usage import parse
from components.testing import Graph
from tests.cost.conftest import planned


def run(stack: str, usage: dict | None = None) -> Estimate:
    graph, spec = planned(stack)
    return estimate(graph, spec, parse(usage or {}, "usage.yaml"))


def monthly(result: Estimate, resource: str) -> float:
    found = [item.monthly for item in result.items if item.resource == resource]
    assert found, f"no line items for {resource}"
    return sum(found)


def test_gcp_cloud_run_cloud_sql_memorystore_and_armor() -> None:
    result = run("gcp-prod", {"resources": {"ai-platform-gateway-armor": {"requestsMillions": 2}}})
    # the planned service sets `cpuIdle: false`: CPU always allocated, instance-based
    # billing: 3 minimum instances x (1 vCPU x $0.000018 + 1 GiB x $0.000002 a second) x 3,600 s, no request fee
    run_items = [i for i in result.items if i.resource == "ai-platform-service-run"]
    assert {i.price_key for i in run_items} == {"run-instance-vcpu-hour", "run-instance-gib-hour"}
    assert monthly(result, "ai-platform-service-run") == pytest.approx(3 * 730 * 3600 * (0.000018 + 0.000002))
    # db-custom-4-16384, regional: 4 x $0.0908 + 16 GB x $0.0154 an hour; 10 GB SSD at $0.374
    assert monthly(result, "ai-platform-vectors-postgres") == pytest.approx(730 * (4 * 0.0908 + 16 * 0.0154) + 3.74)
    assert monthly(result, "ai-platform-cache-redis") == pytest.approx(5 * 730 * 0.059)  # Standard M2, 5 GB
    assert monthly(result, "ai-platform-gateway-armor") == pytest.approx(5 + 13 * 1 + 2 * 0.75)  # policy, 13 rules


def test_gcp_cloud_run_instances_above_the_minimum_come_from_the_usage_file() -> None:
    result = run("gcp-prod", {"resources": {"ai-platform-service-run": {"extraInstances": 1.5}}})
    # (3 + 1.5 instances) x (1 vCPU x $0.0648 + 1 GiB x $0.0072) an hour
    assert monthly(result, "ai-platform-service-run") == pytest.approx(4.5 * 730 * (0.0648 + 0.0072))
    extra = [i for i in result.items if i.resource == "ai-platform-service-run" and i.usage]
    assert len(extra) == 2 and all("extraInstances = 1.5 (usage file)" in str(i.usage) for i in extra)


def _with_cpu_idle(cpu_idle: bool | None) -> tuple[Graph, Any]:
    """gcp-prod with the service's ``resources.cpuIdle`` set (None: no ``resources`` at all)."""
    graph, spec = planned("gcp-prod")
    service = graph.one("gcp:cloudrunv2/service:Service")
    template = copy.deepcopy(service.inputs["template"])
    (container,) = template["containers"]
    if cpu_idle is None:
        del container["resources"]
    else:
        container["resources"]["cpuIdle"] = cpu_idle
    changed = replace(service, inputs={**service.inputs, "template": template})
    return replace(graph, resources=[changed if r is service else r for r in graph.resources]), spec


@pytest.mark.parametrize("cpu_idle", [True, False, None])
def test_gcp_cloud_run_request_based_billing_follows_cpu_idle(cpu_idle: bool | None) -> None:
    graph, spec = _with_cpu_idle(cpu_idle)
    usage = {
        "traffic": {"requestsPerMonth": 1_000_000},
        "resources": {"ai-platform-service-run": {"averageDurationMs": 1800}},
    }
    if cpu_idle is False:  # instance-based billing takes no request duration
        usage = {"traffic": usage["traffic"]}
    result = estimate(graph, spec, parse(usage, "usage.yaml"))
    if cpu_idle is False:
        assert monthly(result, "ai-platform-service-run") == pytest.approx(3 * 730 * (0.0648 + 0.0072))
        return
    # 1M requests x 1.8 s = 500 active instance-hours at $0.000024/vCPU-s and $0.0000025/GiB-s (1 vCPU,
    # 1 GiB; without `resources`, Cloud Run's default 512 MiB); the minimum instances idle the other
    # 3 x 730 - 500 = 1,690 hours at $0.0000025/vCPU-s and /GiB-s; $0.40 per million requests
    gib = 0.5 if cpu_idle is None else 1
    active = 500 * 3600 * (0.000024 + gib * 0.0000025)
    idle = 1690 * 3600 * (0.0000025 + gib * 0.0000025)
    assert monthly(result, "ai-platform-service-run") == pytest.approx(active + idle + 0.40)


def test_gcp_cloud_run_request_based_minimum_instances_without_traffic_are_fixed() -> None:
    graph, spec = _with_cpu_idle(True)
    result = estimate(graph, spec, parse({"traffic": {"requestsPerMonth": 0}}, "usage.yaml"))
    run_items = [i for i in result.items if i.resource == "ai-platform-service-run" and i.monthly]
    # no traffic: 3 idle minimum instances all month at the idle rates, a fixed charge
    assert sum(i.monthly for i in run_items) == pytest.approx(3 * 730 * 3600 * 2 * 0.0000025)
    assert all(i.usage is None for i in run_items)


def test_azure_container_app_gateway_and_postgres() -> None:
    result = run("azure-prod", {"resources": {"ai-platform-service-app": {"requestsMillions": 1}}})
    # 2 minimum replicas x (1 vCPU x $0.0864 + 2 GiB x $0.0108) an hour + $0.40 per million requests
    assert monthly(result, "ai-platform-service-app") == pytest.approx(2 * 730 * (0.0864 + 2 * 0.0108) + 0.40)
    # WAF_v2: $0.443 an hour + 2 minimum instances x 10 reserved capacity units x $0.0072 an hour
    gateway = next(i.resource for i in result.items if i.type == "azure-native:network:ApplicationGateway")
    assert monthly(result, gateway) == pytest.approx(730 * (0.443 + 2 * 10 * 0.0072))
    # zone-redundant HA: two D2ds_v5 servers and two copies of 128 GB
    server = next(i.resource for i in result.items if i.type == "azure-native:dbforpostgresql:Server")
    assert monthly(result, server) == pytest.approx(2 * 730 * 0.194 + 2 * 128 * 0.127)


def test_azure_managed_redis_without_a_price_yet_is_listed_naming_the_refresh() -> None:
    result = run("azure-dev")
    (redis,) = [u for u in result.not_priced if u.type == "azure-native:redisenterprise:RedisEnterprise"]
    assert redis.reason == (
        "prices.json: 'redis-balanced_b0-node-hour' has no price yet (no public page confirmed one); "
        "take it from the price list: scripts/refresh_prices.py azure"
    )


@pytest.mark.parametrize(("stack", "sku", "nodes"), [("azure-dev", "b0", 1), ("azure-prod", "b3", 2)])
def test_azure_managed_redis_bills_each_node_an_hour(
    stack: str, sku: str, nodes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The formula, against a copy of the table given a price (0.25 an hour: a test figure, not a list price)."""
    import components.azure.cost as azure_cost

    document = json.loads(azure_cost.PRICES.read_text())
    document["prices"][f"redis-balanced_{sku}-node-hour"]["usd"] = {"westeurope": 0.25}
    table = tmp_path / "prices.json"
    table.write_text(json.dumps(document))
    monkeypatch.setattr(azure_cost, "PRICES", table)
    result = run(stack)
    # dev: Balanced_B0 without high availability, one node; prod: Balanced_B3 with a replica, two
    assert monthly(result, "ai-platform-cache-cluster") == pytest.approx(nodes * 730 * 0.25)
    assert not [u for u in result.not_priced if u.type == "azure-native:redisenterprise:RedisEnterprise"]


def test_azure_sku_without_an_entry_is_listed_naming_the_missing_entry() -> None:
    graph, spec = planned("azure-prod")
    cluster = graph.one("azure-native:redisenterprise:RedisEnterprise")
    changed = replace(cluster, inputs={**cluster.inputs, "sku": {"name": "Balanced_B5"}})
    graph = replace(graph, resources=[changed if r is cluster else r for r in graph.resources])
    result = estimate(graph, spec)
    (redis,) = [u for u in result.not_priced if u.type == "azure-native:redisenterprise:RedisEnterprise"]
    assert redis.reason == "prices.json: no price 'redis-balanced_b5-node-hour'"


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
