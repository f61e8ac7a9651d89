"""AiPlatform on Azure: the shipped stacks' graphs, wired as seed 002 draws them."""

from __future__ import annotations

from urllib.parse import urlsplit

from components.azure import mocks
from components.azure.observability import DIAGNOSABLE_TYPES
from components.testing import Graph
from tests.azure.conftest import plan_stack_with
from tests.readiness.graphs import planned


def test_every_diagnosable_resource_has_a_diagnostic_setting() -> None:
    graph = planned("azure-prod")
    covered = {
        u
        for s in graph.of_type("azure-native:monitor:DiagnosticSetting")
        for u in s.property_dependencies["resourceUri"]
    }
    missing = [r.name for r in graph.resources if r.type in DIAGNOSABLE_TYPES and r.urn not in covered]
    assert missing == []


def test_alerts_carry_the_seed_thresholds() -> None:
    graph = planned("azure-prod")
    thresholds = {
        a.inputs["criteria"]["allOf"][0]["metricName"]: a.inputs["criteria"]["allOf"][0]["threshold"]
        for a in graph.of_type("azure-native:monitor:MetricAlert")
    }
    assert thresholds["requests/duration"] == 4000
    assert thresholds["CpuPercentage"] == 85
    assert thresholds["usedmemorypercentage"] == 80
    assert thresholds["availabilityResults/availabilityPercentage"] == 99.5
    test = graph.one("azure-native:applicationinsights:WebTest").inputs
    assert test["request"]["requestUrl"] == "https://api.example.com/health"
    assert any(key.startswith("hidden-link:") for key in test["tags"])


def test_stateful_resources_are_protected_in_prod_only() -> None:
    stateful = (
        "azure-native:keyvault:Vault",
        "azure-native:dbforpostgresql:Server",
        "azure-native:redisenterprise:Database",
    )
    for stack, protected in (("azure-prod", True), ("azure-dev", False)):
        graph = planned(stack)
        assert {graph.one(t).protect for t in stateful} == {protected}, stack


def test_the_app_gets_entra_endpoints_and_no_password() -> None:
    environment, secrets, port = mocks.planned_app_settings(planned("azure-prod"))
    assert environment["APP_REDIS_ENTRA_AUTH"] == "true" and environment["APP_DATABASE_ENTRA_AUTH"] == "true"
    assert environment["APP_REDIS_URL"].startswith("rediss://") and environment["APP_REDIS_URL"].endswith(":10000/0")
    assert environment["APP_DATABASE_URL"].startswith("postgresql://ai-platform-identity-identity")
    assert environment["APP_QUEUE_BACKEND"] == "servicebus"
    assert environment["APP_QUEUE_URL"].startswith("sb://") and environment["APP_QUEUE_URL"].endswith(
        ".servicebus.windows.net/jobs"
    )
    assert "AZURE_CLIENT_ID" in environment
    assert secrets == ["APP_API_KEYS_SHA256"] and port == 8000


def test_the_redis_auth_token_is_not_stored() -> None:
    graph = planned("azure-dev")
    names = [s.inputs["secretName"] for s in graph.of_type("azure-native:keyvault:Secret")]
    assert names == ["appApiKeysSha256", "appInsightsConnectionString"]  # the second for API Management's logger


def test_the_gateway_sends_traffic_to_apim_which_sends_it_to_the_app() -> None:
    graph = planned("azure-prod")
    agw = graph.one("azure-native:network:ApplicationGateway").inputs
    assert agw["backendAddressPools"][0]["backendAddresses"] == [{"ipAddress": "10.0.1.4"}]
    backend = graph.one("azure-native:apimanagement:Backend").inputs
    assert backend["url"].startswith("https://") and backend["url"].endswith(".azurecontainerapps.io")
    app = graph.one("azure-native:app:ContainerApp").inputs
    assert app["configuration"]["ingress"]["ipSecurityRestrictions"][0]["ipAddressRange"] == "10.30.1.0/24"


def test_an_entra_group_can_administer_postgres_instead_of_the_dedicated_identity() -> None:
    group = {"objectId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "name": "ai-platform-dbas"}
    graph = plan_stack_with("azure-dev", postgresAdminGroup=group)
    admin = graph.one("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra").inputs
    assert (admin["objectId"], admin["principalName"], admin["principalType"]) == (
        group["objectId"],
        group["name"],
        "Group",
    )
    identities = [r.name for r in graph.of_type("azure-native:managedidentity:UserAssignedIdentity")]
    assert sorted(identities) == ["ai-platform-gateway-identity", "ai-platform-identity-identity"]


def test_the_stack_exports_the_database_step_for_the_apps_role() -> None:
    graph = planned("azure-prod")
    outputs = graph.one("ai-platform:azure:AiPlatform").outputs or {}  # the program exports them as they are
    script = outputs["databaseBootstrapSql"]
    role = environment_user(graph)
    assert f"pgaadauth_create_principal_with_oid('{role}', " in script
    assert f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}";' in script
    assert "databaseAdminClientId" in outputs


def environment_user(graph: Graph) -> str:
    """The database user the app signs in as (from its planned APP_DATABASE_URL)."""
    environment, _, _ = mocks.planned_app_settings(graph)
    return str(urlsplit(environment["APP_DATABASE_URL"]).username)


def test_a_stack_can_have_api_management_validate_jwts() -> None:
    jwt = {
        "openidConfigUrl": "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration",
        "audience": "api://ai-platform",
    }
    graph = plan_stack_with("azure-dev", apiJwt=jwt)
    assert "<validate-jwt" in graph.one("azure-native:apimanagement:ApiPolicy").inputs["value"]
    values = {
        n.inputs["namedValueId"]: n.inputs.get("value") for n in graph.of_type("azure-native:apimanagement:NamedValue")
    }
    assert values["jwt-audience"] == "api://ai-platform"
    assert values["jwt-openid-config-url"] == jwt["openidConfigUrl"]
    assert "<validate-jwt" not in planned("azure-dev").one("azure-native:apimanagement:ApiPolicy").inputs["value"]
