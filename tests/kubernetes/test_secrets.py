"""SecretStore: secrets in one Secret read by reference, and the namespace's private CA (cert-manager)."""

from __future__ import annotations

import pytest

from components.kubernetes.secrets import SecretStore, SecretStoreArgs
from tests.kubernetes.conftest import NAMESPACE, plan_block, secret_store


def test_values_are_secret_and_read_by_reference() -> None:
    holder: dict[str, object] = {}

    def program() -> None:
        store = secret_store(secrets={"openaiApiKey": "sk-x"})
        holder["ref"] = store.reference("openaiApiKey")
        with pytest.raises(KeyError, match="holds \\['openaiApiKey'\\]"):
            store.reference("missing")

    graph = plan_block(program)
    secret = graph.one("kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == "[secret]"
    assert secret.inputs["type"] == "Opaque"


def test_the_private_ca_chain_waits_link_by_link() -> None:
    graph = plan_block(lambda: secret_store())
    issuers = {r.name: r for r in graph.of_type("kubernetes:cert-manager.io/v1:Issuer")}
    ca = graph.one("kubernetes:cert-manager.io/v1:Certificate")
    assert issuers["store-ca-bootstrap"].inputs["spec"] == {"selfSigned": {}}
    assert ca.inputs["spec"]["isCA"] is True and issuers["store-ca-bootstrap"].urn in ca.dependencies
    assert issuers["store-ca-issuer"].inputs["spec"] == {"ca": {"secretName": "store-ca"}}
    assert ca.urn in issuers["store-ca-issuer"].dependencies


def test_no_ca_no_certificates() -> None:
    def program() -> None:
        store = secret_store(private_ca=False)
        with pytest.raises(ValueError, match="private_ca is off"):
            store.server_certificate(store, "x-tls", ["x"])

    assert plan_block(program).of_type("kubernetes:cert-manager.io/v1:Issuer") == []


def test_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match=r"SecretStoreArgs.secrets: keys \['bad key'\]"):
        SecretStore("s", SecretStoreArgs(namespace=NAMESPACE, secrets={"bad key": "x"}))
