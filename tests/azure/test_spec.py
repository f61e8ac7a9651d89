"""The ai-platform:azure section and the Azure cross-key rules: each problem names key, value and rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.spec import PlatformSpec, SpecError

ROOT = Path(__file__).resolve().parents[2]


def config(stack: str, **changes: Any) -> dict[str, Any]:
    values = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    values["ai-platform:appApiKeysSha256"] = "x"
    for key, value in changes.items():
        section, _, field = key.partition(".")
        full = f"ai-platform:{section}"
        if value is None:
            values.get(full, {}).pop(field, None)
        elif field:
            values[full] = {**values.get(full, {}), field: value}
        else:
            values[full] = value
    return values


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as raised:
        PlatformSpec.from_config(values)
    return [str(p) for p in raised.value.problems]


def test_shipped_stacks_parse() -> None:
    for stack in ("azure-dev", "azure-prod"):
        spec = PlatformSpec.from_config(config(stack))
        assert spec.cloud == "azure" and spec.region == "westeurope"


def test_the_section_is_required() -> None:
    values = config("azure-dev")
    del values["ai-platform:azure"]
    assert any(p.startswith("ai-platform:azure = (not set): the azure section is required") for p in problems(values))


def test_the_image_must_be_a_digest_in_the_platform_registry() -> None:
    found = problems(config("azure-dev", **{"app.image": {"digest": "other.azurecr.io/x@sha256:" + "a" * 64}}))
    assert any("ai-platform:app.image.digest" in p and "aiplatformdevacr.azurecr.io" in p for p in found)
    found = problems(config("azure-dev", **{"app.image": {"build": "app"}}))
    assert any(p.startswith("ai-platform:app.image = ") and "set app.image.digest" in p for p in found)


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"app.minReplicas": 1}, "ai-platform:app.minReplicas", "at least 2"),
        ({"app.maxReplicas": 30}, "ai-platform:app.maxReplicas", "prod runs 2-20 replicas"),
        ({"gateway.waf": {"mode": "count"}}, "ai-platform:gateway.waf.mode", "insecure.disableWaf"),
        ({"azure.postgresTier": "Burstable"}, "ai-platform:azure.postgresTier", "zone-redundant HA"),
        ({"azure.apiManagementSku": "Developer"}, "ai-platform:azure.apiManagementSku", "Premium"),
    ],
)
def test_prod_rules(changes: dict[str, Any], key: str, words: str) -> None:
    found = problems(config("azure-prod", **changes))
    assert any(p.startswith(key) and words in p for p in found), found


def test_detection_mode_in_prod_needs_the_named_opt_out() -> None:
    values = config("azure-prod", **{"gateway.waf": {"mode": "count"}}, insecure={"disableWaf": True})
    spec = PlatformSpec.from_config(values)
    assert "disableWaf" in spec.opt_outs


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("registryName", "no-hyphens-allowed", "5-50 letters and digits"),
        ("keyVaultName", "1starts-with-digit", "3-24 letters"),
        ("certificateSecretId", "https://example.com/cert", "Key Vault secret id"),
        ("certificateKeyVaultId", "/subscriptions/x", "Key Vault resource id"),
        ("openaiSubdomain", "UPPER", "lower-case"),
    ],
)
def test_section_values_are_checked(field: str, value: str, words: str) -> None:
    found = problems(config("azure-dev", **{f"azure.{field}": value}))
    assert any(p.startswith(f"ai-platform:azure.{field} = ") and words in p for p in found), found


def test_deployments_need_a_subdomain() -> None:
    found = problems(config("azure-dev", **{"azure.openaiSubdomain": None}))
    assert any(p.startswith("ai-platform:azure.openaiSubdomain") for p in found)


def test_network_must_fit_the_subnets() -> None:
    found = problems(config("azure-dev", network={"cidr": "10.20.0.0/22"}))
    assert any(p.startswith("ai-platform:network.cidr") and "/21" in p for p in found), found


def test_a_jwt_setting_must_be_an_openid_configuration_url() -> None:
    azure = {**config("azure-dev")["ai-platform:azure"], "apiJwt": {"openidConfigUrl": "http://x/", "audience": "a"}}
    found = problems(config("azure-dev", azure=azure))
    assert any(p.startswith("ai-platform:azure.apiJwt.openidConfigUrl") for p in found), found
