"""Registry (immutable Artifact Registry, pinned image) and Observability (alerts, uptime, budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.gcp.observability import Observability, ObservabilityArgs
from components.gcp.registry import Registry, RegistryArgs
from components.testing import plan
from tests.gcp.conftest import DIGEST, KEY, PROJECT, REGION, ChildKeys

APP = Path(__file__).resolve().parents[2] / "app"


def test_repository_is_immutable_and_cmek_and_the_built_image_is_pinned() -> None:
    graph = plan(
        lambda: Registry("r", RegistryArgs(project=PROJECT, location=REGION, kms_key_name=KEY, context=str(APP)))
    )
    repo = graph.one("gcp:artifactregistry/repository:Repository").inputs
    assert repo["format"] == "DOCKER" and repo["dockerConfig"] == {"immutableTags": True} and repo["kmsKeyName"] == KEY
    image = graph.one("docker-build:index:Image").inputs
    assert image["push"] is True and image["tags"][0].startswith(
        f"{REGION}-docker.pkg.dev/{PROJECT}/ai-platform/api:src-"
    )
    assert image["registries"][0]["username"] == "oauth2accesstoken"
    assert "gcp:organizations/getClientConfig:getClientConfig" in graph.calls


def test_mutable_tags_and_google_managed_keys_are_built_when_opted_out() -> None:
    """gcp.insecure.mutableTags and gcp.insecure.googleManagedKeys (dev): no key, tags can move."""
    args = RegistryArgs(project=PROJECT, location=REGION, image_digest=DIGEST, immutable_tags=False)
    repo = plan(lambda: Registry("r", args)).one("gcp:artifactregistry/repository:Repository").inputs
    assert repo["dockerConfig"] == {"immutableTags": False} and "kmsKeyName" not in repo


def test_a_given_digest_builds_nothing() -> None:
    graph = plan(lambda: Registry("r", RegistryArgs(project=PROJECT, location=REGION, image_digest=DIGEST)))
    assert graph.of_type("docker-build:index:Image") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image_digest": "europe-west1-docker.pkg.dev/p/r/api:latest"}, "RegistryArgs.image_digest="),
        ({"context": "/nonexistent"}, "RegistryArgs.context='/nonexistent'"),
    ],
)
def test_bad_registry_args_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        Registry("r", RegistryArgs(project=PROJECT, location=REGION, **changes))


def _observability(**changes: Any) -> ObservabilityArgs:
    values: dict[str, Any] = {
        "project": PROJECT,
        "alert_emails": ["oncall@example.com"],
        "service_name": "api",
        "url_map_name": "urls",
        "domain": "api.example.com",
        "cache_instance_id": "redis",
        "billing_account": "01A2B3-C4D5E6-F7A8B9",
        "budget_amount": 500,
    }
    return ObservabilityArgs(**{**values, **changes})


def test_alerts_at_the_spec_thresholds_uptime_and_budget(child_keys: ChildKeys) -> None:
    graph = plan(lambda: Observability("o", _observability()))
    alerts = {
        a.name: a.inputs["conditions"][0]["conditionThreshold"]
        for a in graph.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
    }
    latency = alerts["o-latency-alert"]
    assert "run.googleapis.com/request_latencies" in latency["filter"] and latency["thresholdValue"] == 4000
    assert latency["aggregations"][0]["perSeriesAligner"] == "ALIGN_PERCENTILE_95"
    errors = alerts["o-error-alert"]
    assert "response_code_class = 500" in errors["filter"] and "denominatorFilter" in errors
    assert errors["thresholdValue"] == 0.005
    assert "run.googleapis.com/container/cpu/utilizations" in alerts["o-cpu-alert"]["filter"]
    assert alerts["o-cpu-alert"]["thresholdValue"] == 0.85
    assert "redis.googleapis.com/stats/memory/usage_ratio" in alerts["o-redismemory-alert"]["filter"]
    assert alerts["o-redismemory-alert"]["thresholdValue"] == 0.8
    channel = graph.one("gcp:monitoring/notificationChannel:NotificationChannel").inputs
    assert channel["type"] == "email" and channel["labels"] == {"email_address": "oncall@example.com"}
    uptime = graph.one("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig").inputs
    assert uptime["httpCheck"] == {"path": "/health", "port": 443, "useSsl": True, "validateSsl": True}
    budget = graph.one("gcp:billing/budget:Budget").inputs
    assert [r["thresholdPercent"] for r in budget["thresholdRules"]] == [0.5, 0.8, 1, 1]
    assert budget["budgetFilter"]["projects"] == ["projects/123456789012"]
    assert child_keys.undocumented(ObservabilityArgs) == []


def test_without_a_cache_no_redis_alert() -> None:
    graph = plan(lambda: Observability("o", _observability(cache_instance_id=None)))
    assert len(graph.of_type("gcp:monitoring/alertPolicy:AlertPolicy")) == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alert_emails": []}, "ObservabilityArgs.alert_emails=[]"),
        ({"alert_emails": ["nobody"]}, "ObservabilityArgs.alert_emails: not e-mail addresses"),
        ({"cpu_ratio": 85}, "ObservabilityArgs.cpu_ratio=85"),
        ({"budget_amount": 0}, "ObservabilityArgs.budget_amount=0"),
    ],
)
def test_bad_observability_args_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        Observability("o", _observability(**changes))
