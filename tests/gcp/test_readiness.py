"""GCP deploy-readiness invariants: each passes on the shipped stacks (tests/readiness/test_stacks.py)
and fails on a graph that misses what it checks."""

from __future__ import annotations

import pulumi
import pulumi_gcp.cloudrunv2 as cloudrunv2
import pulumi_gcp.kms as kms
import pulumi_gcp.projects as projects
import pulumi_gcp.pubsub as pubsub
import pulumi_gcp.redis as redis
import pulumi_gcp.servicenetworking as servicenetworking
import pulumi_gcp.sql as sql
import pytest

from components.gcp.cache import Cache, CacheArgs
from components.gcp.network import Network, NetworkArgs
from components.gcp.readiness import findings
from components.gcp.vector_store import VectorStore, VectorStoreArgs
from components.testing import plan
from tests.gcp.conftest import DIGEST, EMAIL, KEY, MEMBER, NETWORK, PROJECT, REGION

AGENT = "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"


def _service(depends_on: list[pulumi.Resource]) -> None:
    cloudrunv2.Service(
        "api",
        location=REGION,
        template=cloudrunv2.ServiceTemplateArgs(
            service_account=EMAIL, containers=[cloudrunv2.ServiceTemplateContainerArgs(image=DIGEST)]
        ),
        opts=pulumi.ResourceOptions(depends_on=depends_on),
    )


def _names(program: object) -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    for f in findings(plan(program)):  # type: ignore[arg-type]
        found.setdefault(f.invariant, []).append(f.resources)
    return found


def test_a_service_that_does_not_wait_for_its_role_is_found() -> None:
    def program() -> None:
        role = projects.IAMMember("log", project=PROJECT, role="roles/logging.logWriter", member=MEMBER)
        projects.IAMMember("metric", project=PROJECT, role="roles/monitoring.metricWriter", member=MEMBER)
        _service([role])

    assert _names(program) == {"iam-before-service": [("api", "metric")]}


def test_a_service_waiting_for_all_its_bindings_passes() -> None:
    def program() -> None:
        role = projects.IAMMember("log", project=PROJECT, role="roles/logging.logWriter", member=MEMBER)
        _service([role])

    assert _names(program) == {}


def test_data_stores_without_the_psa_connection_are_found() -> None:
    def program() -> None:
        connection = servicenetworking.Connection(
            "psa", network=NETWORK, service="servicenetworking.googleapis.com", reserved_peering_ranges=["r"]
        )
        redis.Instance("cache", memory_size_gb=1, opts=pulumi.ResourceOptions(depends_on=[connection]))
        sql.DatabaseInstance(
            "db", database_version="POSTGRES_18", settings=sql.DatabaseInstanceSettingsArgs(tier="db-f1-micro")
        )

    assert _names(program) == {"psa-before-private-data": [("db",)]}


@pytest.mark.parametrize("waits", [False, True])
def test_data_stores_built_without_psa_connection_must_depend_on_the_network(waits: bool) -> None:
    """``psa_connection`` is optional (a facade cannot pass a resource): a Cache or VectorStore that
    neither gets it nor depends on the Network is found; ``depends_on=[network]`` (the facades'
    ``dependsOn: [network]``) is enough, as it waits for the network's children."""

    def program() -> None:
        network = Network("net", NetworkArgs(project=PROJECT, region=REGION))
        where = {"project": PROJECT, "region": REGION, "network_id": network.network_id}
        depends_on = [network] if waits else []
        Cache("cache", CacheArgs(**where, depends_on=depends_on))
        VectorStore("db", VectorStoreArgs(**where, depends_on=depends_on))

    found = {name: sorted(resources) for name, resources in _names(program).items()}
    assert found == ({} if waits else {"psa-before-private-data": [("cache-redis",), ("db-postgres",)]})


def test_a_dead_letter_subscription_without_the_agents_roles_is_found() -> None:
    def program() -> None:
        topic, dead = pubsub.Topic("jobs"), pubsub.Topic("dead")
        pubsub.TopicIAMMember("agent-pub", topic=dead.name, role="roles/pubsub.publisher", member=AGENT)
        pubsub.Subscription(
            "worker",
            topic=topic.id,
            dead_letter_policy=pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=dead.id, max_delivery_attempts=5
            ),
        )

    assert sorted(_names(program)["pubsub-agent-before-dead-letter"]) == [("worker",), ("worker",)]


def test_a_cmek_topic_that_does_not_wait_for_the_agents_key_use_is_found() -> None:
    def program() -> None:
        kms.CryptoKeyIAMMember(
            "use", crypto_key_id=KEY, role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=AGENT
        )
        pubsub.Topic("jobs", kms_key_name=KEY)

    assert _names(program) == {"key-use-before-encryption": [("jobs",)]}
