"""SecretStore, Identity and EncryptionKey: per-secret access, no basic roles, CMEK with service agents."""

from __future__ import annotations

import pulumi
import pytest

from components.gcp.iam import Identity, IdentityArgs
from components.gcp.kms import EncryptionKey, EncryptionKeyArgs
from components.gcp.secrets import SecretStore, SecretStoreArgs
from components.testing import plan
from tests.gcp.conftest import KEY, MEMBER, PROJECT, REGION


def test_each_secret_is_cmek_encrypted_and_readable_only_by_the_granted_member() -> None:
    def program() -> None:
        store = SecretStore(
            "s",
            SecretStoreArgs(
                project=PROJECT, kms_key_name=KEY, secrets={"openaiApiKey": pulumi.Output.secret("sk-1"), "x": "y"}
            ),
        )
        store.grant_access(MEMBER, ["openaiApiKey"])

    graph = plan(program)
    secret = graph.named("s-openai-api-key")
    assert secret.inputs["secretId"] == "openai-api-key"
    assert secret.inputs["replication"] == {"auto": {"customerManagedEncryption": {"kmsKeyName": KEY}}}
    assert graph.named("s-openai-api-key-v").inputs["secretData"] == "[secret]"
    (access,) = graph.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert (access.inputs["role"], access.inputs["member"]) == ("roles/secretmanager.secretAccessor", MEMBER)
    assert secret.urn in access.property_dependencies["secretId"]


@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers"])
def test_a_public_reader_is_refused(member: str) -> None:
    def program() -> None:
        SecretStore("s", SecretStoreArgs(project=PROJECT, secrets={"k": "v"})).grant_access(member)

    with pytest.raises(ValueError, match=f"SecretStore.grant_access member='{member}'"):
        plan(program)


def test_identity_has_only_the_workload_roles() -> None:
    graph = plan(lambda: Identity("id", IdentityArgs(project=PROJECT, account_id="ai-api-test")))
    roles = sorted(m.inputs["role"] for m in graph.of_type("gcp:projects/iAMMember:IAMMember"))
    assert roles == ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    assert all(
        m.inputs["member"] == f"serviceAccount:ai-api-test@{PROJECT}.iam.gserviceaccount.com"
        for m in graph.of_type("gcp:projects/iAMMember:IAMMember")
    )


@pytest.mark.parametrize("role", ["roles/editor", "roles/owner", "roles/viewer"])
def test_basic_roles_are_refused(role: str) -> None:
    with pytest.raises(ValueError, match=rf"IdentityArgs\.roles contains '{role}': basic roles"):
        Identity("id", IdentityArgs(project=PROJECT, account_id="ai-api-test", roles=[role]))


def test_key_rotates_within_90_days_and_service_agents_get_key_use() -> None:
    def program() -> None:
        key = EncryptionKey("k", EncryptionKeyArgs(project=PROJECT, location=REGION, protect=True))
        key.allow_service("pubsub.googleapis.com")

    graph = plan(program)
    crypto = graph.one("gcp:kms/cryptoKey:CryptoKey")
    assert crypto.inputs["rotationPeriod"] == "7776000s" and crypto.protect
    agent = graph.one("gcp:projects/serviceIdentity:ServiceIdentity")
    assert agent.inputs["service"] == "pubsub.googleapis.com"
    binding = graph.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert binding.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert binding.inputs["member"] == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"


def test_rotation_longer_than_90_days_is_refused() -> None:
    with pytest.raises(ValueError, match=r"EncryptionKeyArgs\.rotation_days=365: must be 1 to 90 days"):
        EncryptionKey("k", EncryptionKeyArgs(project=PROJECT, location=REGION, rotation_days=365))
