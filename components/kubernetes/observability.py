"""Observability (Kubernetes): Prometheus Operator objects: a ServiceMonitor scraping the app and a
PrometheusRule alerting at the spec's thresholds (p95 latency, 5xx rate, CPU).

The cluster needs the ``monitoring.coreos.com/v1`` CRDs (kube-prometheus-stack, or the operator's
CRDs alone); Alertmanager routes the alerts (its receivers are cluster configuration). The
metrics are the app's (``ai_http_request_duration_seconds`` with ``route``/``status`` labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.base import BlockArgs
from components.kubernetes.objects import NamespacedBlock, Pods, custom_resource, meta

MONITORING = "monitoring.coreos.com/v1"
LATENCY = "ai_http_request_duration_seconds"


@dataclass(kw_only=True)
class ObservabilityArgs(BlockArgs):
    namespace: str
    """The namespace of the app (the ServiceMonitor and PrometheusRule live there)."""
    app: Pods
    """The app's pods (the ServiceMonitor selects its Service by these labels)."""
    port_name: str = "http"
    """Name of the Service port Prometheus scrapes."""
    latency_p95_threshold_seconds: float = 4.0
    """Alert above this 95th-percentile request latency, in seconds."""
    error_rate_threshold_percent: float = 0.5
    """Alert above this share of 5xx responses, in percent."""
    cpu_threshold_percent: int = 85
    """Alert above this CPU use of the app's pods, in percent of their limit."""
    deployment_name: str = "api"
    """The app's Deployment, whose replicas the alerts watch."""


class Observability(NamespacedBlock):
    """Scraping and alerts (child keys: ``service-monitor``, ``rules``)."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.latency_p95_threshold_seconds <= 0 or not 0 < args.error_rate_threshold_percent < 100:
            raise ValueError(
                "ObservabilityArgs: latency_p95_threshold_seconds must be > 0 and error_rate_threshold_percent "
                f"in (0, 100), got {args.latency_p95_threshold_seconds} and {args.error_rate_threshold_percent}"
            )
        super().__init__("ai-platform:kubernetes:Observability", name, args, opts)
        labels = dict(args.tags)
        self.service_monitor = self.child(
            "service-monitor",
            custom_resource(MONITORING, "ServiceMonitor"),
            {
                "metadata": meta(name, args.namespace, labels),
                "spec": {
                    "selector": {"matchLabels": dict(args.app.labels)},
                    "namespaceSelector": {"matchNames": [args.namespace]},
                    "endpoints": [{"port": args.port_name, "path": "/metrics", "interval": "30s"}],
                },
            },
        )
        selector = f'namespace="{args.namespace}"'
        window = "5m"
        rules = [
            {
                "alert": "AiApiLatencyP95High",
                "expr": (
                    f"histogram_quantile(0.95, sum by (le) (rate({LATENCY}_bucket{{{selector}}}[{window}]))) "
                    f"> {args.latency_p95_threshold_seconds}"
                ),
                "for": "5m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": f"p95 latency above {args.latency_p95_threshold_seconds} s"},
            },
            {
                "alert": "AiApiErrorRateHigh",
                "expr": (
                    f'sum(rate({LATENCY}_count{{{selector},status=~"5.."}}[{window}])) / '
                    f"sum(rate({LATENCY}_count{{{selector}}}[{window}])) * 100 > {args.error_rate_threshold_percent}"
                ),
                "for": "5m",
                "labels": {"severity": "critical"},
                "annotations": {"summary": f"5xx above {args.error_rate_threshold_percent} % of requests"},
            },
            {
                "alert": "AiApiCpuHigh",
                "expr": (
                    f'sum(rate(container_cpu_usage_seconds_total{{{selector},container="api"}}[{window}])) / '
                    f'sum(kube_pod_container_resource_limits{{{selector},container="api",resource="cpu"}}) * 100 '
                    f"> {args.cpu_threshold_percent}"
                ),
                "for": "10m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": f"CPU above {args.cpu_threshold_percent} % of the limit"},
            },
        ]
        self.rules = self.child(
            "rules",
            custom_resource(MONITORING, "PrometheusRule"),
            {"metadata": meta(name, args.namespace, labels), "spec": {"groups": [{"name": "ai-api", "rules": rules}]}},
        )
        self.register_outputs({})
