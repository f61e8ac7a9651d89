"""The GCP platform from a stack spec: every insecure or invalid choice the issue lists is refused
by name (a spec error here; a block error or a mandatory policy violation in the other tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ai_platform_cli.main import load_stack, plan_stack
from components.gcp.platform import account_id, memory_quantity
from components.spec import PlatformSpec, SpecError
from tests.stackconfig import apply_change

ROOT = Path(__file__).resolve().parents[2]


def _prod() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / "Pulumi.gcp-prod.yaml").read_text())["config"]


def _problems(config: dict[str, Any]) -> dict[str, str]:
    secrets = {"ai-platform:openaiApiKey", "ai-platform:anthropicApiKey", "ai-platform:appApiKeysSha256"}
    values = {**config, **{k: "x" for k in secrets}}
    with pytest.raises(SpecError) as error:
        PlatformSpec.from_config(values, secrets)
    return {p.key: p.message for p in error.value.problems}


def _with(path: str, value: Any) -> dict[str, Any]:
    """``ai-platform:app.minReplicas`` -> the prod config with that value."""
    key, *inner = path.split(".")
    return apply_change(_prod(), key, tuple(inner), value)


@pytest.mark.parametrize(
    ("path", "value", "key", "message"),
    [
        ("ai-platform:app.minReplicas", 0, "ai-platform:app.minReplicas", "greater than or equal to 1"),
        ("ai-platform:app.minReplicas", 1, "ai-platform:app.minReplicas", "at least 2 in prod"),
        ("ai-platform:app.scaling.concurrentRequests", 1001, "ai-platform:app.scaling.concurrentRequests", "1000"),
        ("ai-platform:gcp.sslProfile", "COMPATIBLE", "ai-platform:gcp.sslProfile", "'RESTRICTED' or 'MODERN'"),
        ("ai-platform:gateway.waf.mode", "count", "ai-platform:gateway.waf.mode", "prod blocks"),
        ("ai-platform:cache.highAvailability", False, "ai-platform:cache.highAvailability", "STANDARD_HA"),
        ("ai-platform:vectorStore.highAvailability", False, "ai-platform:vectorStore.highAvailability", "REGIONAL"),
        ("ai-platform:vectorStore.deletionProtection", False, "ai-platform:vectorStore.deletionProtection", "opt-out"),
        ("ai-platform:app.environment", {"OPENAI_API_KEY": "sk"}, "ai-platform:app.environment", "looks like a secret"),
        ("ai-platform:gcp.postgresVersion", "MYSQL_8_0", "ai-platform:gcp.postgresVersion", "PostgreSQL version"),
        ("ai-platform:gcp.billingAccount", "nope", "ai-platform:gcp.billingAccount", "billing account id"),
        ("ai-platform:gcp.wafSensitivity", 5, "ai-platform:gcp.wafSensitivity", "less than or equal to 4"),
        ("gcp:project", "Bad_Project", "gcp:project", "must be a project id"),
        ("ai-platform:tags", {"owner": "Team A", "cost-center": "x"}, "ai-platform:tags", "label values"),
    ],
)
def test_bad_input_is_refused_at_its_key(path: str, value: Any, key: str, message: str) -> None:
    problems = _problems(_with(path, value))
    assert key in problems and message in problems[key], problems


def test_a_missing_project_and_section_are_named() -> None:
    config = _prod()
    del config["gcp:project"], config["ai-platform:gcp"]
    problems = _problems(config)
    assert "gcp:project" in problems and "ai-platform:gcp" in problems


def test_the_gcp_opt_out_is_recorded_for_the_policy_pack() -> None:
    stack = load_stack(ROOT, "gcp-dev")
    stack.config["ai-platform:gcp"] = {**stack.config["ai-platform:gcp"], "insecure": {"sqlEncryptedOnly": True}}
    graph = plan_stack(stack)
    assert graph.one("ai-platform:gcp:AiPlatform").inputs["optOuts"] == ["gcp.sqlEncryptedOnly"]
    sql = graph.one("gcp:sql/databaseInstance:DatabaseInstance")
    assert sql.inputs["settings"]["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"


def test_prod_wiring_service_waits_for_bindings_and_gets_the_app_contract() -> None:
    graph = plan_stack(load_stack(ROOT, "gcp-prod"))
    service = graph.one("gcp:cloudrunv2/service:Service")
    (container,) = service.inputs["template"]["containers"]
    env = {e["name"]: e for e in container["envs"]}
    assert env["APP_QUEUE_BACKEND"]["value"] == "pubsub"
    assert env["APP_QUEUE_SUBSCRIPTION"]["value"].startswith("projects/ai-platform-prod/subscriptions/")
    assert env["APP_REDIS_URL"]["value"] == "rediss://10.0.128.4:6378/0"
    assert env["APP_REDIS_PASSWORD"]["valueSource"]["secretKeyRef"]["secret"] == "redis-auth-token"
    assert env["APP_REDIS_CA_CERT"]["value"].startswith("-----BEGIN CERTIFICATE-----")  # Memorystore's own CA
    # Cloud SQL through the connector, as the service account's IAM database user (no password)
    assert env["APP_DATABASE_URL"]["value"] == "postgresql://ai-api-gcp-prod%40ai-platform-prod.iam@/ai"
    assert env["APP_DATABASE_INSTANCE"]["value"].startswith("ai-platform-prod:europe-west1:")
    assert env["APP_DATABASE_IAM_AUTH"]["value"] == "true"
    assert graph.one("gcp:sql/user:User").inputs["name"] == "ai-api-gcp-prod@ai-platform-prod.iam"
    assert not [e for e in container["envs"] if "value" in e and "KEY" in e["name"]]
    # CPU stays allocated between requests: the app settles limits and flushes logs after it answers
    assert container["resources"]["cpuIdle"] is False
    bindings = [
        r
        for r in graph.resources
        if r.type.endswith(("IAMMember", "IamMember"))
        and r.inputs.get("member", "").startswith("serviceAccount:ai-api-")
    ]
    assert len(bindings) >= 8 and all(b.urn in service.dependencies for b in bindings)
    # the stored AUTH string is Memorystore's own, not the config placeholder
    version = graph.named("ai-platform-secrets-redis-auth-token-v")
    redis = graph.one("gcp:redis/instance:Instance")
    assert redis.urn in version.property_dependencies["secretData"]


def test_helpers() -> None:
    assert memory_quantity(1024) == "1Gi" and memory_quantity(1536) == "1536Mi"
    assert account_id("gcp-prod") == "ai-api-gcp-prod"
    assert len(account_id("a-very-long-stack-name-for-testing")) <= 30
