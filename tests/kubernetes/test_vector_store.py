"""VectorStore: PostgreSQL with pgvector, TLS only, the app's user signing in with its client certificate."""

from __future__ import annotations

from typing import Any

import pytest

from components.kubernetes.vector_store import VectorStore, VectorStoreArgs
from components.testing import Graph
from tests.kubernetes.conftest import DIGEST, NAMESPACE, TAGS, plan_block, secret_store


def planned(**changes: Any) -> Graph:
    def program() -> None:
        values: dict[str, Any] = {
            "tags": TAGS,
            "namespace": NAMESPACE,
            "part_of": "ai-api",
            "image": DIGEST,
            "secret_store": secret_store(),
            **changes,
        }
        VectorStore("pg", VectorStoreArgs(**values))

    return plan_block(program)


def test_only_the_app_user_with_its_certificate_over_tls() -> None:
    graph = planned()
    config = graph.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    rules = [line for line in config["pg_hba.conf"].splitlines() if line and not line.startswith("#")]
    assert rules == ["local all postgres trust", "hostssl ai ai_api all cert"]
    assert "CREATE EXTENSION IF NOT EXISTS vector" in config["init.sql"]
    client = graph.one("kubernetes:cert-manager.io/v1:Certificate", "pg-client-certificate").inputs["spec"]
    assert (client["commonName"], client["usages"][0], client["secretName"]) == ("ai_api", "client auth", "pg-client")
    (postgres,) = graph.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]["template"]["spec"]["containers"]
    assert "-cssl=on" in postgres["args"] and "-chba_file=/etc/postgresql/pg_hba.conf" in postgres["args"]
    assert "-cssl_min_protocol_version=TLSv1.2" in postgres["args"]
    assert not any("PASSWORD" in variable["name"] for variable in postgres["env"])


def test_one_instance_only() -> None:
    with pytest.raises(ValueError, match=r"VectorStoreArgs\.replicas 2: this block runs one instance"):
        planned(replicas=2)
