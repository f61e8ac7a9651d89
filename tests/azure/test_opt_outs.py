"""The Azure named opt-outs (``azure.insecure``): without one the spec refuses the insecure value
(naming the key, the value, what is allowed and the opt-out); with it the spec accepts it, the
platform records it, and the block builds the insecure value. The pack side is in
tests/policies/test_azure_rules.py."""

from __future__ import annotations

from typing import Any

import pytest

from components.azure.ai import Ai, AiArgs
from components.azure.api_management import ApiManagement
from components.azure.cache import Cache, CacheArgs
from components.azure.gateway import Gateway
from components.azure.queue import Queue, QueueArgs
from components.azure.registry import Registry, RegistryArgs
from components.azure.secrets import SecretStore, SecretStoreArgs
from components.azure.spec import AzureInsecureSpec
from components.decisions import policy_facts
from components.spec import PlatformSpec
from tests.azure import test_api_management, test_gateway
from tests.azure.conftest import DIGEST, WHERE, plan_azure
from tests.azure.test_spec import config, problems


def with_azure(stack: str, opt_outs: tuple[str, ...] = (), **section: Any) -> dict[str, Any]:
    """The shipped stack's config with ``section`` merged into ai-platform:azure and the opt-outs set."""
    values = config(stack)
    azure = {**values["ai-platform:azure"], **section}
    if opt_outs:
        azure["insecure"] = dict.fromkeys(opt_outs, True)
    values["ai-platform:azure"] = azure
    return values


#: opt-out -> (a stack where it is allowed, the insecure settings it unlocks, the key reported without it)
CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "externalApiManagement": ("azure-dev", {"apiManagementNetwork": "External"}, "azure.apiManagementNetwork"),
    "publicDataServices": ("azure-prod", {"publicServices": ["registry", "keyVault"]}, "azure.publicServices"),
    "localAuth": ("azure-prod", {"localAuth": ["cache", "queue", "openai"]}, "azure.localAuth"),
    "singleZoneDatabase": ("azure-prod", {"postgresTier": "Burstable"}, "azure.postgresTier"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_insecure_value_needs_its_named_opt_out(name: str) -> None:
    stack, settings, key = CASES[name]
    found = [p for p in problems(with_azure(stack, **settings)) if p.startswith(f"ai-platform:{key} = ")]
    assert len(found) == 1, found
    assert f"azure.insecure.{name}: true" in found[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_the_opt_out_the_spec_accepts_it_and_records_it(name: str) -> None:
    stack, settings, _ = CASES[name]
    values = with_azure(stack, (name,), **settings)
    if name == "singleZoneDatabase":
        values["ai-platform:vectorStore"] = {**values.get("ai-platform:vectorStore", {}), "highAvailability": False}
    spec = PlatformSpec.from_config(values)
    assert f"azure.{name}" in policy_facts(spec)["optOuts"]


def test_the_error_names_the_value_and_what_is_allowed() -> None:
    [found] = [p for p in problems(with_azure("azure-prod", publicServices=["registry"])) if "publicServices" in p]
    assert found == (
        'ai-platform:azure.publicServices = ["registry"]: must be [] (the secure default); this value needs the '
        "opt-out azure.insecure.publicDataServices: true"
    )


def test_external_api_management_is_dev_only() -> None:
    values = with_azure("azure-prod", ("externalApiManagement",), apiManagementNetwork="External")
    [found] = [p for p in problems(values) if "apiManagementNetwork" in p]
    assert "must be Internal in prod; the opt-out azure.insecure.externalApiManagement is for dev stacks only" in found


def test_single_zone_database_covers_high_availability_off_in_prod() -> None:
    values = config("azure-prod", **{"vectorStore.highAvailability": False})
    [found] = [p for p in problems(values) if p.startswith("ai-platform:vectorStore.highAvailability")]
    assert "azure.insecure.singleZoneDatabase: true" in found
    PlatformSpec.from_config(with_azure("azure-prod", ("singleZoneDatabase",)) | {
        "ai-platform:vectorStore": {"highAvailability": False}
    })  # fmt: skip


def test_burstable_with_high_availability_is_refused_even_with_the_opt_out() -> None:
    values = with_azure("azure-prod", ("singleZoneDatabase",), postgresTier="Burstable")
    [found] = [p for p in problems(values) if p.startswith("ai-platform:vectorStore.highAvailability")]
    assert "the Burstable tier has no zone-redundant HA" in found


def test_above_seed_max_replicas_is_a_spec_only_opt_out() -> None:
    values = config("azure-prod", **{"app.maxReplicas": 30})
    [found] = [p for p in problems(values) if p.startswith("ai-platform:app.maxReplicas")]
    assert "azure.insecure.aboveSeedMaxReplicas: true" in found
    values["ai-platform:azure"] = {**values["ai-platform:azure"], "insecure": {"aboveSeedMaxReplicas": True}}
    assert PlatformSpec.from_config(values).app.max_replicas == 30
    assert "aboveSeedMaxReplicas" in AzureInsecureSpec.SPEC_ONLY


def test_below_two_replicas_in_prod_has_no_opt_out() -> None:
    values = with_azure("azure-prod", ("aboveSeedMaxReplicas",)) | {"ai-platform:app": {"minReplicas": 1}}
    assert any(p.startswith("ai-platform:app.minReplicas") for p in problems(values))


def test_no_opt_out_is_in_force_by_default() -> None:
    for stack in ("azure-dev", "azure-prod"):
        assert policy_facts(PlatformSpec.from_config(config(stack)))["optOuts"] == []


def test_an_unknown_opt_out_is_refused_by_name() -> None:
    found = problems(with_azure("azure-dev", ("publicIngress",)))
    assert any("ai-platform:azure.insecure.publicIngress" in p for p in found), found


# --- the blocks build the insecure value only when asked -------------------------------------------


def test_api_management_external_and_the_gateway_reaching_it_by_name() -> None:
    graph = plan_azure(lambda: ApiManagement("apim", test_api_management.args(virtual_network_type="External")))
    assert graph.one("azure-native:apimanagement:ApiManagementService").inputs["virtualNetworkType"] == "External"
    graph = plan_azure(lambda: Gateway("gw", test_gateway.args(backend_ip=None)))
    pool = graph.one("azure-native:network:ApplicationGateway").inputs["backendAddressPools"][0]
    assert pool["backendAddresses"] == [{"fqdn": "apim.azure-api.net"}]
    with pytest.raises(ValueError, match=r"virtual_network_type='None': allowed Internal"):
        ApiManagement("apim", test_api_management.args(virtual_network_type="None"))


def test_public_data_services_keep_their_private_endpoint_settings_but_accept_public_traffic() -> None:
    def program() -> None:
        SecretStore("sec", SecretStoreArgs(**WHERE, vault_name="kv-test-01", tenant_id="t", public_access=True))
        Registry("reg", RegistryArgs(**WHERE, registry_name="aiplatformtest", image_digest=DIGEST, public_access=True))
        Cache("c", CacheArgs(**WHERE, public_access=True))
        Queue("q", QueueArgs(**WHERE, public_access=True))
        Ai("ai", AiArgs(**WHERE, custom_subdomain="ai-test", public_access=True))

    graph = plan_azure(program)
    vault = graph.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["publicNetworkAccess"] == "Enabled" and vault["networkAcls"]["defaultAction"] == "Allow"
    assert vault["enableRbacAuthorization"] is True  # the rest stays as it was
    for token in (
        "azure-native:containerregistry:Registry",
        "azure-native:redisenterprise:RedisEnterprise",
        "azure-native:servicebus:Namespace",
    ):
        assert graph.one(token).inputs["publicNetworkAccess"] == "Enabled", token
    account = graph.one("azure-native:cognitiveservices:Account").inputs["properties"]
    assert account["publicNetworkAccess"] == "Enabled" and account["disableLocalAuth"] is True


def test_local_auth_turns_keys_on_and_nothing_else() -> None:
    def program() -> None:
        Cache("c", CacheArgs(**WHERE, access_keys=True))
        Queue("q", QueueArgs(**WHERE, local_auth=True))
        Ai("ai", AiArgs(**WHERE, custom_subdomain="ai-test", local_auth=True))

    graph = plan_azure(program)
    database = graph.one("azure-native:redisenterprise:Database").inputs
    assert database["accessKeysAuthentication"] == "Enabled" and database["clientProtocol"] == "Encrypted"
    namespace = graph.one("azure-native:servicebus:Namespace").inputs
    assert namespace["disableLocalAuth"] is False and namespace["publicNetworkAccess"] == "Disabled"
    account = graph.one("azure-native:cognitiveservices:Account").inputs["properties"]
    assert account["disableLocalAuth"] is False and account["publicNetworkAccess"] == "Disabled"


def test_the_vault_omits_purge_protection_only_when_asked() -> None:
    graph = plan_azure(
        lambda: SecretStore(
            "sec", SecretStoreArgs(**WHERE, vault_name="kv-test-01", tenant_id="t", purge_protection=False)
        )
    )
    assert "enablePurgeProtection" not in graph.one("azure-native:keyvault:Vault").inputs["properties"]
