"""Cache (Memorystore) and VectorStore (Cloud SQL): private, TLS, AUTH / IAM sign-in, HA and protection."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp.servicenetworking as servicenetworking
import pytest

from components.gcp.cache import Cache, CacheArgs
from components.gcp.vector_store import DATABASE_FLAGS, VectorStore, VectorStoreArgs
from components.testing import plan
from tests.gcp.conftest import EMAIL, KEY, MEMBER, NETWORK, PROJECT, REGION, ChildKeys


def _psa() -> servicenetworking.Connection:
    return servicenetworking.Connection(
        "psa", network=NETWORK, service="servicenetworking.googleapis.com", reserved_peering_ranges=["r"]
    )


def _cache(**changes: Any) -> None:
    Cache("cache", CacheArgs(project=PROJECT, region=REGION, network_id=NETWORK, psa_connection=_psa(), **changes))


def _store(**changes: Any) -> VectorStore:
    values: dict[str, Any] = {"project": PROJECT, "region": REGION, "network_id": NETWORK, "psa_connection": _psa()}
    return VectorStore("db", VectorStoreArgs(**{**values, **changes}))


def test_cache_is_ha_private_tls_auth_rdb_and_waits_for_psa(child_keys: ChildKeys) -> None:
    graph = plan(lambda: _cache(kms_key_name=KEY, protect=True))
    redis = graph.one("gcp:redis/instance:Instance")
    expected = {
        "tier": "STANDARD_HA",
        "authEnabled": True,
        "transitEncryptionMode": "SERVER_AUTHENTICATION",
        "connectMode": "PRIVATE_SERVICE_ACCESS",
        "customerManagedKey": KEY,
        "deletionProtection": True,
    }
    assert {k: redis.inputs[k] for k in expected} == expected
    assert redis.inputs["persistenceConfig"]["persistenceMode"] == "RDB" and redis.protect
    assert graph.one("gcp:servicenetworking/connection:Connection").urn in redis.dependencies
    assert child_keys.undocumented(CacheArgs) == []


def test_cache_deletion_protection_is_its_own_setting_not_pulumis_protect() -> None:
    """insecure.unprotectStatefulResources drops Pulumi's protect, not the provider's protection."""
    redis = plan(lambda: _cache(protect=False)).one("gcp:redis/instance:Instance")
    assert redis.inputs["deletionProtection"] is True and not redis.protect
    redis = plan(lambda: _cache(protect=True, deletion_protection=False)).one("gcp:redis/instance:Instance")
    assert redis.inputs["deletionProtection"] is False and redis.protect


def test_dev_cache_is_basic() -> None:
    assert plan(lambda: _cache(tier="BASIC")).one("gcp:redis/instance:Instance").inputs["tier"] == "BASIC"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"auth_enabled": False}, "CacheArgs.auth_enabled=False"),
        ({"transit_encryption": False}, "CacheArgs.transit_encryption=False"),
        ({"tier": "STANDARD"}, "CacheArgs.tier='STANDARD'"),
        ({"memory_size_gb": 0}, "CacheArgs.memory_size_gb=0"),
    ],
)
def test_bad_cache_args_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        plan(lambda: _cache(**changes))


def test_database_is_private_tls_with_client_certs_regional_pitr_and_audited(child_keys: ChildKeys) -> None:
    graph = plan(lambda: _store(kms_key_name=KEY, backup_retention_days=14, tags={"owner": "a", "cost-center": "b"}))
    sql = graph.one("gcp:sql/databaseInstance:DatabaseInstance").inputs
    assert sql["databaseVersion"] == "POSTGRES_18" and sql["deletionProtection"] is True
    assert sql["encryptionKeyName"] == KEY
    settings = sql["settings"]
    assert settings["availabilityType"] == "REGIONAL" and settings["deletionProtectionEnabled"] is True
    ip = settings["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["privateNetwork"] == NETWORK and "authorizedNetworks" not in ip
    assert ip["sslMode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    backups = settings["backupConfiguration"]
    assert backups["enabled"] is True and backups["pointInTimeRecoveryEnabled"] is True
    assert backups["backupRetentionSettings"]["retainedBackups"] == 14
    assert [(f["name"], f["value"]) for f in settings["databaseFlags"]] == list(DATABASE_FLAGS)
    assert settings["userLabels"] == {"owner": "a", "cost-center": "b"}
    assert child_keys.undocumented(VectorStoreArgs) == []


def test_a_public_ip_is_built_when_opted_out_but_never_authorized_networks() -> None:
    """gcp.insecure.sqlPublicIp: a public IP the connector and Auth Proxy reach; no networks listed."""
    sql = plan(lambda: _store(public_ip=True)).one("gcp:sql/databaseInstance:DatabaseInstance").inputs
    ip = sql["settings"]["ipConfiguration"]
    assert ip["ipv4Enabled"] is True and "authorizedNetworks" not in ip and "encryptionKeyName" not in sql


def test_grant_connect_makes_an_iam_user_and_the_connect_roles() -> None:
    def program() -> None:
        store = _store()
        store.grant_connect(pulumi.Output.from_input(EMAIL), MEMBER)

    graph = plan(program)
    user = graph.one("gcp:sql/user:User").inputs
    assert user["type"] == "CLOUD_IAM_SERVICE_ACCOUNT" and user["name"] == f"ai-api@{PROJECT}.iam"
    roles = sorted(m.inputs["role"] for m in graph.of_type("gcp:projects/iAMMember:IAMMember"))
    assert roles == ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"authorized_networks": ["0.0.0.0/0"]}, "VectorStoreArgs.authorized_networks=['0.0.0.0/0']"),
        ({"ssl_mode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}, "VectorStoreArgs.ssl_mode='ALLOW_UNENCRYPTED_AND_ENCRYPTED'"),
        ({"database_version": "MYSQL_8_0"}, "VectorStoreArgs.database_version='MYSQL_8_0'"),
        ({"backup_retention_days": 0}, "VectorStoreArgs.backup_retention_days=0"),
    ],
)
def test_bad_database_args_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        plan(lambda: _store(**changes))
