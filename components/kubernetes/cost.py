"""What the platform's Kubernetes objects cost a month (the engine: components/cost).

A cluster bills nodes, not objects: the estimate prices what the pods *request* (CPU and
memory per replica, every hour) and what the StatefulSets' volume claims hold, at a reference
node price (``prices.json``: Google Compute Engine E2 per vCPU and per GB in us-central1, and a
balanced persistent disk). It is the share of a cluster the platform reserves, not a cloud
bill: the cluster's control plane, its spare node capacity and its load balancer are the
cluster's own. Adding a type: one entry in ``prices.json`` and one formula in ``PRICED``.
"""

from __future__ import annotations

from pathlib import Path

from components.cost import Charge, Context, compute_hours
from components.cost.quantities import cpu_cores, gib
from components.testing import GraphResource

PRICES = Path(__file__).with_name("prices.json")


def workload(r: GraphResource, ctx: Context) -> list[Charge]:
    spec = r.inputs.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
    cores = sum(cpu_cores(q.get("cpu", 0)) for q in requests)
    memory = sum(gib(q.get("memory", 0)) for q in requests)
    charges = compute_hours(replicas, cores, memory, ("node-vcpu-hour", "node-memory-gib-hour"), "replicas' requests")
    claims = spec.get("volumeClaimTemplates") or []
    storage = sum(
        gib(((c.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage", 0)) for c in claims
    )
    if storage:
        charges.append(Charge(f"volume claims ({replicas} x {storage:g} GiB)", replicas * storage, "volume-gib-month"))
    return charges


PRICED = {
    "kubernetes:apps/v1:Deployment": workload,
    "kubernetes:apps/v1:StatefulSet": workload,
}

_NO_CHARGE = "an API object: no charge of its own"
FREE = {
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": _NO_CHARGE,
    "kubernetes:cert-manager.io/v1:Certificate": "issued by the in-cluster CA",
    "kubernetes:cert-manager.io/v1:Issuer": _NO_CHARGE,
    "kubernetes:core/v1:ConfigMap": _NO_CHARGE,
    "kubernetes:core/v1:Namespace": _NO_CHARGE,
    "kubernetes:core/v1:Secret": _NO_CHARGE,
    "kubernetes:core/v1:Service": "ClusterIP services: no load balancer of their own",
    "kubernetes:core/v1:ServiceAccount": _NO_CHARGE,
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": "evaluated by the cluster's Prometheus",
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": "scraped by the cluster's Prometheus",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": _NO_CHARGE,
    "kubernetes:policy/v1:PodDisruptionBudget": _NO_CHARGE,
    "pulumi:providers:kubernetes": "the provider: no resource",
}

NOT_PRICED = {
    "kubernetes:networking.k8s.io/v1:Ingress": "served by the cluster's ingress controller and load balancer (shared)",
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": "served by the cluster's gateway controller (shared)",
}
