"""Observability: a ServiceMonitor on the app's Service and alerts the policy pack counts as latency and
5xx alerts, at the spec's thresholds."""

from __future__ import annotations

import pytest

from components.kubernetes.objects import Pods
from components.kubernetes.observability import Observability, ObservabilityArgs
from policies.framework import Resource
from policies.rules import kubernetes as k8s_rules
from tests.kubernetes.conftest import NAMESPACE, TAGS, plan_block

APP = Pods(NAMESPACE, {"app.kubernetes.io/name": "api"})


def test_alerts_at_the_thresholds_count_for_the_pack() -> None:
    graph = plan_block(
        lambda: Observability(
            "mon",
            ObservabilityArgs(
                tags=TAGS,
                namespace=NAMESPACE,
                app=APP,
                latency_p95_threshold_seconds=2.5,
                error_rate_threshold_percent=1,
            ),
        )
    )
    rule = graph.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    view = Resource(type=rule.type, props=rule.inputs)
    assert k8s_rules.prometheus_latency_alert(view) and k8s_rules.prometheus_error_alert(view)
    expressions = {r["alert"]: r["expr"] for r in rule.inputs["spec"]["groups"][0]["rules"]}
    assert expressions["AiApiLatencyP95High"].endswith("> 2.5")
    assert expressions["AiApiErrorRateHigh"].endswith("> 1")
    monitor = graph.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor").inputs["spec"]
    assert monitor["selector"] == {"matchLabels": {"app.kubernetes.io/name": "api"}}
    assert monitor["endpoints"][0]["path"] == "/metrics"


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="error_rate_threshold_percent"):
        Observability("mon", ObservabilityArgs(namespace=NAMESPACE, app=APP, error_rate_threshold_percent=0))
