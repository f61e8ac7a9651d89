"""ContainerService: internal environment, identity-only pulls and secrets, restricted ingress, seed scale rules."""

from __future__ import annotations

from typing import Any

import pytest

from components.azure.container_service import ContainerService, ContainerServiceArgs
from tests.azure.conftest import DIGEST, WHERE, plan_azure

IDENTITY = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
SECRET_URL = "https://kv.vault.azure.net/secrets/appApiKeysSha256"


def args(**changes: Any) -> ContainerServiceArgs:
    values: dict[str, Any] = {
        **WHERE,
        "subnet_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/apps",
        "vnet_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
        "allowed_ingress_cidrs": ["10.0.1.0/24"],
        "identity_id": IDENTITY,
        "identity_client_id": "client-1",
        "registry_server": "aiplatformtest.azurecr.io",
        "image": DIGEST,
        "environment": {"APP_PORT": "8000"},
        "secrets": {"APP_API_KEYS_SHA256": SECRET_URL},
        **changes,
    }
    return ContainerServiceArgs(**values)


def test_environment_is_internal_encrypted_and_zone_redundant() -> None:
    graph = plan_azure(lambda: ContainerService("svc", args()))
    env = graph.one("azure-native:app:ManagedEnvironment").inputs
    assert env["vnetConfiguration"]["internal"] is True and env["zoneRedundant"] is True
    assert env["peerTrafficConfiguration"] == {"encryption": {"enabled": True}}
    assert env["appLogsConfiguration"] == {"destination": "azure-monitor"}
    record = graph.one("azure-native:privatedns:PrivateRecordSet")
    assert record.inputs["relativeRecordSetName"] == "*"


def test_app_uses_its_identity_for_pulls_and_secrets_and_accepts_only_apim() -> None:
    graph = plan_azure(lambda: ContainerService("svc", args()))
    app = graph.one("azure-native:app:ContainerApp").inputs
    config = app["configuration"]
    assert config["registries"] == [{"server": "aiplatformtest.azurecr.io", "identity": IDENTITY}]
    assert config["secrets"] == [{"name": "app-api-keys-sha256", "keyVaultUrl": SECRET_URL, "identity": IDENTITY}]
    ingress = config["ingress"]
    assert ingress["allowInsecure"] is False and ingress["external"] is True
    assert [r["ipAddressRange"] for r in ingress["ipSecurityRestrictions"]] == ["10.0.1.0/24"]
    (container,) = app["template"]["containers"]
    assert container["image"] == DIGEST
    assert {"name": "APP_API_KEYS_SHA256", "secretRef": "app-api-keys-sha256"} in container["env"]
    assert {"name": "AZURE_CLIENT_ID", "value": "client-1"} in container["env"]
    assert {p["type"]: p["httpGet"]["path"] for p in container["probes"]} == {
        "Liveness": "/health",
        "Readiness": "/ready",
        "Startup": "/health",
    }
    scale = app["template"]["scale"]
    assert (scale["minReplicas"], scale["maxReplicas"]) == (2, 20)
    assert scale["rules"][0]["http"]["metadata"] == {"concurrentRequests": "50"}
    assert scale["rules"][1]["custom"] == {"type": "cpu", "metadata": {"type": "Utilization", "value": "70"}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image": "aiplatformtest.azurecr.io/ai-api:latest"}, "ContainerServiceArgs.image="),
        ({"min_replicas": 5, "max_replicas": 2}, "ContainerServiceArgs.min_replicas=5, max_replicas=2"),
        ({"cpu": 0.3, "memory_gib": 0.6}, "ContainerServiceArgs.cpu=0.3"),
        ({"memory_gib": 8.0}, "ContainerServiceArgs.memory_gib=8.0"),
        ({"allowed_ingress_cidrs": []}, "allowed_ingress_cidrs is empty"),
        ({"environment": {"OPENAI_API_KEY": "sk-x"}}, r"ContainerServiceArgs.environment\['OPENAI_API_KEY'\]"),
        ({"secrets": {"X_TOKEN": "plain-value"}}, "is not a Key Vault secret URL"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ContainerService("svc", args(**changes))
