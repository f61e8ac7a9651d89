"""SecretStore: an RBAC-only, purge-protected, private Key Vault; secrets by unversioned URL."""

from __future__ import annotations

import pytest

from components.azure.secrets import SecretStore, SecretStoreArgs
from tests.azure.conftest import WHERE, plan_azure

TENANT = "00000000-0000-0000-0000-0000000000aa"


def test_vault_is_locked_down_and_secrets_are_referenced_by_url() -> None:
    urls: dict[str, str] = {}

    def program() -> None:
        store = SecretStore(
            "sec", SecretStoreArgs(**WHERE, vault_name="kv-test", tenant_id=TENANT, secrets={"appApiKeys": "v"})
        )
        store.secret_urls["appApiKeys"].apply(lambda url: urls.setdefault("appApiKeys", url))
        store.grant_read("app", "principal-1")

    graph = plan_azure(program)
    properties = graph.one("azure-native:keyvault:Vault").inputs["properties"]
    assert properties["enableRbacAuthorization"] is True and properties["enablePurgeProtection"] is True
    assert properties["softDeleteRetentionInDays"] == 90 and properties["publicNetworkAccess"] == "Disabled"
    assert properties["networkAcls"]["defaultAction"] == "Deny"
    assert "accessPolicies" not in properties
    secret = graph.one("azure-native:keyvault:Secret")
    assert secret.inputs["properties"]["value"] == "[secret]"
    assert urls == {"appApiKeys": "https://kv-test.vault.azure.net/secrets/appApiKeys"}
    role = graph.one("azure-native:authorization:RoleAssignment").inputs
    assert role["roleDefinitionId"].endswith("/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6")
    assert role["principalType"] == "ServicePrincipal"


def test_stateful_children_are_protected_when_asked() -> None:
    graph = plan_azure(
        lambda: SecretStore(
            "sec", SecretStoreArgs(**WHERE, vault_name="kv-test", tenant_id=TENANT, secrets={"k": "v"}, protect=True)
        )
    )
    assert graph.one("azure-native:keyvault:Vault").protect
    assert graph.one("azure-native:keyvault:Secret").protect


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vault_name": "x"}, "SecretStoreArgs.vault_name='x'"),
        ({"soft_delete_days": 3}, "SecretStoreArgs.soft_delete_days=3: allowed 7 to 90"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, object], message: str) -> None:
    args = {"vault_name": "kv-test", **changes}
    with pytest.raises(ValueError, match=message):
        SecretStore("sec", SecretStoreArgs(**WHERE, tenant_id=TENANT, **args))  # pyright: ignore[reportArgumentType]
