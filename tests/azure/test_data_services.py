"""Cache, VectorStore, Queue, Ai and Registry: private, Entra ID only, TLS, with their grants."""

from __future__ import annotations

from typing import Any

import pytest

from components.azure.ai import Ai, AiArgs, ModelDeployment
from components.azure.cache import Cache, CacheArgs
from components.azure.queue import Queue, QueueArgs
from components.azure.registry import Registry, RegistryArgs
from components.azure.vector_store import EntraAdmin, VectorStore, VectorStoreArgs
from tests.azure.conftest import DIGEST, WHERE, plan_azure

VNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"


def test_cache_is_tls_entra_only_and_private() -> None:
    graph = plan_azure(lambda: Cache("c", CacheArgs(**WHERE)).grant_data_access("app", "object-1"))
    cluster = graph.one("azure-native:redisenterprise:RedisEnterprise").inputs
    assert cluster["publicNetworkAccess"] == "Disabled" and cluster["minimumTlsVersion"] == "1.2"
    assert cluster["highAvailability"] == "Enabled"
    database = graph.one("azure-native:redisenterprise:Database").inputs
    assert database["clientProtocol"] == "Encrypted" and database["accessKeysAuthentication"] == "Disabled"
    access = graph.one("azure-native:redisenterprise:AccessPolicyAssignment").inputs
    assert access["accessPolicyName"] == "default" and access["user"] == {"objectId": "object-1"}
    with pytest.raises(ValueError, match=r"CacheArgs.sku_name='C1'"):
        Cache("c", CacheArgs(**WHERE, sku_name="C1"))


def vector_args(**changes: Any) -> VectorStoreArgs:
    values: dict[str, Any] = {
        **WHERE,
        "subnet_id": f"{VNET}/subnets/postgres",
        "vnet_id": VNET,
        "tenant_id": "tenant-1",
        "admin": EntraAdmin("group-1", "db-admins"),
        "sku_name": "Standard_D2ds_v5",
        "tier": "GeneralPurpose",
        **changes,
    }
    return VectorStoreArgs(**values)


def test_vector_store_is_private_entra_only_with_pgvector_and_a_lock() -> None:
    graph = plan_azure(
        lambda: VectorStore("v", vector_args(backup_retention_days=35, geo_redundant_backup=True, delete_lock=True))
    )
    server = graph.one("azure-native:dbforpostgresql:Server")
    assert server.inputs["authConfig"] == {
        "activeDirectoryAuth": "Enabled",
        "passwordAuth": "Disabled",
        "tenantId": "tenant-1",
    }
    assert server.inputs["network"]["publicNetworkAccess"] == "Disabled"
    assert server.inputs["highAvailability"]["mode"] == "ZoneRedundant"
    assert server.inputs["backup"] == {"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"}
    assert graph.one("azure-native:privatedns:VirtualNetworkLink").urn in server.dependencies
    config = graph.one("azure-native:dbforpostgresql:Configuration").inputs
    assert (config["configurationName"], config["value"]) == ("azure.extensions", "VECTOR")
    assert graph.one("azure-native:authorization:ManagementLockByScope").inputs["level"] == "CanNotDelete"
    admin = graph.one("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra").inputs
    assert admin == {
        "resourceGroupName": "rg",
        "serverName": admin["serverName"],
        "objectId": "group-1",
        "principalName": "db-admins",
        "principalType": "Group",
        "tenantId": "tenant-1",
    }


def test_vector_store_refuses_burstable_ha_and_short_backups() -> None:
    with pytest.raises(ValueError, match=r"VectorStoreArgs.tier='Burstable'"):
        VectorStore("v", vector_args(tier="Burstable", sku_name="Standard_B1ms"))
    with pytest.raises(ValueError, match=r"VectorStoreArgs.backup_retention_days=1"):
        VectorStore("v", vector_args(backup_retention_days=1))
    with pytest.raises(ValueError, match=r"VectorStoreArgs.admin.principal_type='User'"):
        VectorStore("v", vector_args(admin=EntraAdmin("o", "n", "User")))


def test_queue_is_premium_private_entra_only_with_dead_lettering() -> None:
    graph = plan_azure(lambda: Queue("q", QueueArgs(**WHERE)).grant_consume("app", "principal-1"))
    namespace = graph.one("azure-native:servicebus:Namespace").inputs
    assert namespace["disableLocalAuth"] is True and namespace["minimumTlsVersion"] == "1.2"
    assert namespace["publicNetworkAccess"] == "Disabled" and namespace["sku"]["name"] == "Premium"
    queue = graph.one("azure-native:servicebus:Queue").inputs
    assert queue["deadLetteringOnMessageExpiration"] is True and queue["lockDuration"] == "PT5M0S"
    roles = {r.inputs["roleDefinitionId"][-36:] for r in graph.of_type("azure-native:authorization:RoleAssignment")}
    # registration order follows when each role id resolves, so compare as a set
    assert roles == {"69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"}
    with pytest.raises(ValueError, match=r"QueueArgs.lock_duration_seconds=600: allowed 5 to 300"):
        Queue("q", QueueArgs(**WHERE, lock_duration_seconds=600))


def test_openai_account_is_entra_only_private_with_deployments_one_at_a_time() -> None:
    deployments = [ModelDeployment("chat", "gpt-4o-mini", "2024-07-18"), ModelDeployment("embed", "te3", "1")]
    graph = plan_azure(
        lambda: Ai("ai", AiArgs(**WHERE, custom_subdomain="ai-test", deployments=deployments)).grant_use("app", "p")
    )
    account = graph.one("azure-native:cognitiveservices:Account").inputs
    assert account["kind"] == "OpenAI"
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["publicNetworkAccess"] == "Disabled"
    assert account["properties"]["customSubDomainName"] == "ai-test"
    chat, embed = graph.named("ai-deployment-chat"), graph.named("ai-deployment-embed")
    assert chat.urn in embed.dependencies
    with pytest.raises(ValueError, match=r"AiArgs.deployments: names must be unique"):
        Ai("ai", AiArgs(**WHERE, custom_subdomain="ai-test", deployments=deployments * 2))


def test_registry_has_no_admin_user_and_no_public_access() -> None:
    graph = plan_azure(
        lambda: Registry("r", RegistryArgs(**WHERE, registry_name="aiplatformtest", image_digest=DIGEST)).grant_pull(
            "app", "p"
        )
    )
    registry = graph.one("azure-native:containerregistry:Registry").inputs
    assert registry["adminUserEnabled"] is False and registry["anonymousPullEnabled"] is False
    assert registry["publicNetworkAccess"] == "Disabled" and registry["sku"] == {"name": "Premium"}
    role = graph.one("azure-native:authorization:RoleAssignment").inputs["roleDefinitionId"]
    assert role.endswith("7f951dda-4ed3-4680-a7ca-43fe172d538d")
    with pytest.raises(ValueError, match=r"must be in aiplatformother.azurecr.io"):
        Registry("r", RegistryArgs(**WHERE, registry_name="aiplatformother", image_digest=DIGEST))
