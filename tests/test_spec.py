"""The stack spec: defaults per environment, one error listing every problem, secrets checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from components.spec import PlatformSpec, SpecError
from tests.stackconfig import INVALID_CHANGES, SECRETS, apply_change, baseline, valid_configs

ROOT = Path(__file__).resolve().parent.parent


def parse(config: dict) -> PlatformSpec:
    return PlatformSpec.from_config(config, [k for k in config if k in SECRETS])


def test_prod_defaults_are_highly_available_and_protected() -> None:
    spec = parse(baseline("prod"))
    assert (spec.zones, spec.nat_gateways, spec.waf_mode) == (3, "perZone", "block")
    assert spec.cache_high_availability and spec.vector_high_availability and spec.deletion_protection
    assert (spec.min_replicas, spec.backup_retention_days, spec.log_retention_days) == (2, 14, 365)
    assert spec.opt_outs == []


def test_dev_defaults_are_cheap() -> None:
    spec = parse(baseline("dev"))
    assert (spec.zones, spec.nat_gateways, spec.waf_mode) == (2, "single", "count")
    assert not spec.cache_high_availability and not spec.vector_high_availability and not spec.deletion_protection
    assert (spec.min_replicas, spec.backup_retention_days, spec.log_retention_days) == (1, 1, 30)


def test_seed_numbers_are_the_defaults() -> None:
    spec = parse(baseline())
    alerts = spec.observability.alerts
    assert (alerts.latency_p95_seconds, alerts.availability_percent, alerts.cpu_percent) == (4.0, 99.5, 85)
    assert alerts.redis_memory_percent == 80 and alerts.error_rate_percent == 0.5
    assert (spec.app.timeout_seconds, spec.app.scaling.cpu_percent, spec.app.scaling.concurrent_requests) == (
        300,
        70,
        80,
    )


def test_cli_strings_are_accepted_as_the_cli_passes_them() -> None:
    config = baseline()
    config["ai-platform:app"] = '{"maxReplicas": "7", "secrets": {"OPENAI_API_KEY": "openaiApiKey"}}'
    config["ai-platform:queue"] = '{"enabled": "false"}'
    spec = parse(config)
    assert spec.app.max_replicas == 7 and spec.queue.enabled is False


@pytest.mark.parametrize(("key", "path", "value", "words"), INVALID_CHANGES)
def test_each_invalid_value_is_named_with_its_key_and_what_is_allowed(key, path, value, words) -> None:
    with pytest.raises(SpecError) as caught:
        parse(apply_change(baseline(), key, path, value))
    message = str(caught.value)
    assert words in message
    expected_key = key + "".join(f".{p}" for p in path[:1])
    assert any(problem.key.startswith(expected_key) for problem in caught.value.problems), message


def test_every_problem_is_reported_at_once() -> None:
    config = apply_change(baseline(), "ai-platform:app", ("maxReplicas",), 0)
    config = apply_change(config, "ai-platform:network", ("zones",), 9)
    config["ai-platform:gatway"] = {"domain": "x"}
    with pytest.raises(SpecError) as caught:
        parse(config)
    keys = [p.key for p in caught.value.problems]
    assert keys == ["ai-platform:gatway", "ai-platform:app.maxReplicas", "ai-platform:network.zones"]
    assert "known: app, aws, azure, budget" in str(caught.value)
    assert "= 0:" in str(caught.value)


def test_prod_rules_span_sections() -> None:
    config = baseline("prod")
    config["ai-platform:observability"] = {"alertEmails": []}
    config["ai-platform:app"]["minReplicas"] = 1
    config["ai-platform:vectorStore"] = {"deletionProtection": False}
    with pytest.raises(SpecError) as caught:
        parse(config)
    message = str(caught.value)
    assert "alertEmails = []: prod stacks need at least one address" in message
    assert "ai-platform:app.minReplicas = 1: must be at least 2 in prod" in message
    assert "insecure.disableDeletionProtection" in message


def test_insecure_choices_need_a_named_opt_out_and_are_listed() -> None:
    config = baseline("prod")
    config["ai-platform:vectorStore"] = {"deletionProtection": False}
    config["ai-platform:insecure"] = {"disableDeletionProtection": True, "disableWaf": True}
    spec = parse(config)
    assert spec.opt_outs == ["disableWaf", "disableDeletionProtection"]
    assert not spec.waf_enabled and not spec.deletion_protection


def test_missing_secret_names_the_command_to_set_it() -> None:
    config = baseline()
    del config["ai-platform:redisAuthToken"]
    with pytest.raises(SpecError) as caught:
        parse(config)
    assert "pulumi config set --secret ai-platform:redisAuthToken" in str(caught.value)


def test_plain_text_secret_is_refused_without_showing_it() -> None:
    config = baseline()
    with pytest.raises(SpecError) as caught:
        PlatformSpec.from_config(config, ["ai-platform:openaiApiKey", "ai-platform:redisAuthToken"])
    message = str(caught.value)
    assert "ai-platform:appApiKeysSha256" in message and "plain text" in message
    assert "9f86d081" not in message


def test_region_is_required_for_aws() -> None:
    config = baseline()
    del config["aws:region"]
    with pytest.raises(SpecError, match=r"aws:region = \(not set\): must be set for cloud aws"):
        parse(config)


@settings(max_examples=150, deadline=None)
@given(valid_configs())
def test_every_generated_valid_config_parses(config: dict) -> None:
    spec = parse(config)
    assert spec.min_replicas <= spec.app.max_replicas
    assert spec.budget.thresholds == sorted(spec.budget.thresholds)


@pytest.mark.parametrize(("stack", "needs_token"), [("aws-prod", True), ("gcp-prod", False), ("azure-prod", False)])
def test_the_cache_token_is_asked_for_only_where_the_target_uses_it(stack: str, needs_token: bool) -> None:
    import yaml

    from components.spec import required_secret_keys

    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert ("redisAuthToken" in required_secret_keys(config)) is needs_token
