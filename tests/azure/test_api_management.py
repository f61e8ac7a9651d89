"""ApiManagement: Internal VNet mode, old TLS off, a policy with limits and a circuit-breaking backend."""

from __future__ import annotations

from typing import Any

import pytest

from components.azure.api_management import ApiManagement, ApiManagementArgs, JwtValidation, api_policy_xml
from tests.azure.conftest import WHERE, plan_azure

VAULT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-test-01"


def args(**changes: Any) -> ApiManagementArgs:
    values: dict[str, Any] = {
        **WHERE,
        "subnet_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/apim",
        "publisher_email": "team@example.com",
        "backend_url": "https://app.internal.example",
        "app_insights_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/ai",
        "key_vault_id": VAULT,
        "app_insights_connection_string_secret": "https://kv-test-01.vault.azure.net/secrets/appInsightsConnectionString",
        **changes,
    }
    return ApiManagementArgs(**values)


def test_service_is_internal_with_old_protocols_off() -> None:
    graph = plan_azure(lambda: ApiManagement("apim", args()))
    service = graph.one("azure-native:apimanagement:ApiManagementService").inputs
    assert service["virtualNetworkType"] == "Internal" and service["sku"] == {"name": "Developer", "capacity": 1}
    custom = service["customProperties"]
    assert custom["Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10"] == "False"
    assert custom["Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11"] == "False"
    assert custom["Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168"] == "False"


def test_backend_trips_on_429_and_5xx_and_honours_retry_after() -> None:
    graph = plan_azure(lambda: ApiManagement("apim", args()))
    (rule,) = graph.one("azure-native:apimanagement:Backend").inputs["circuitBreaker"]["rules"]
    assert rule["acceptRetryAfter"] is True and rule["tripDuration"] == "PT1M"
    ranges = rule["failureCondition"]["statusCodeRanges"]
    assert ranges == [{"min": 429, "max": 429}, {"min": 500, "max": 599}]
    assert len(graph.of_type("azure-native:apimanagement:ApiOperation")) == 5
    logger = graph.one("azure-native:apimanagement:Logger").inputs
    assert (
        logger["loggerType"] == "applicationInsights" and logger["credentials"]["identityClientId"] == "SystemAssigned"
    )


def test_policy_limits_rate_tokens_and_body_and_can_validate_jwts() -> None:
    xml = api_policy_xml(
        args(
            rate_limit_calls=100,
            tokens_per_minute=5000,
            jwt=JwtValidation("https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration", "api"),
        )
    )
    assert '<rate-limit-by-key calls="100" renewal-period="300"' in xml
    assert 'tokens-per-minute="5000"' in xml
    assert (
        '<validate-content unspecified-content-type-action="ignore" max-size="1048576" size-exceeded-action="prevent"'
        in xml
    )
    assert '<openid-config url="{{jwt-openid-config-url}}" />' in xml
    assert "<validate-jwt" in xml and "<audience>{{jwt-audience}}</audience>" in xml
    assert "<validate-jwt" not in api_policy_xml(args())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sku": "StandardV2"}, "ApiManagementArgs.sku='StandardV2': allowed Developer or Premium"),
        ({"zones": ["1", "2"]}, "availability zones need the Premium sku"),
        ({"publisher_email": "nobody"}, "ApiManagementArgs.publisher_email='nobody'"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ApiManagement("apim", args(**changes))


def test_the_logger_reads_its_connection_string_from_key_vault_through_a_named_value() -> None:
    graph = plan_azure(lambda: ApiManagement("apim", args()))
    (named,) = graph.of_type("azure-native:apimanagement:NamedValue")
    assert named.inputs["namedValueId"] == "appinsights-connection-string" and named.inputs["secret"] is True
    assert named.inputs["keyVault"] == {
        "secretIdentifier": "https://kv-test-01.vault.azure.net/secrets/appInsightsConnectionString"
    }
    assert "value" not in named.inputs
    reader = graph.one("azure-native:authorization:RoleAssignment")
    assert reader.inputs["scope"] == VAULT and reader.inputs["roleDefinitionId"].endswith(
        "4633458b-17de-408a-b874-0445c86b69e6"  # Key Vault Secrets User
    )
    service = graph.one("azure-native:apimanagement:ApiManagementService")
    assert service.urn in reader.property_dependencies["principalId"]  # the service's own identity
    assert reader.urn in named.dependencies  # the service reads the secret when the value is made
    logger = graph.one("azure-native:apimanagement:Logger")
    assert logger.inputs["credentials"]["connectionString"] == "{{appinsights-connection-string}}"
    assert named.urn in logger.dependencies


def test_jwt_settings_are_plain_named_values_the_policy_references() -> None:
    jwt = JwtValidation("https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration", "api://ai")
    graph = plan_azure(lambda: ApiManagement("apim", args(jwt=jwt)))
    values = {n.inputs["namedValueId"]: n for n in graph.of_type("azure-native:apimanagement:NamedValue")}
    assert values["jwt-openid-config-url"].inputs["value"] == jwt.openid_config_url
    assert values["jwt-audience"].inputs["value"] == "api://ai" and values["jwt-audience"].inputs["secret"] is False
    policy = graph.one("azure-native:apimanagement:ApiPolicy")
    assert {values[k].urn for k in values} <= set(policy.dependencies)
