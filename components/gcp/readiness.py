"""Deploy-readiness invariants of a planned GCP graph: what the first ``pulumi up`` needs in
place before a resource is created, and that the mock runtime cannot see by itself.

* IAM before use: the Cloud Run service waits for every binding of its service account (project
  roles, secret access, database user), or its first revision fails to start.
* Private Service Access before private data: Cloud SQL and Memorystore wait for the
  servicenetworking connection, or their creation fails for want of a peering.
* The Pub/Sub service agent's roles before dead-lettering: the subscription with a dead-letter
  policy waits for the agent's publisher binding on the dead-letter topic, and the agent is
  subscriber on the subscription; without them dead-lettering fails silently.
* Key use before encryption: a store with a customer-managed key waits for that key's binding
  to the store's service agent, or creation fails with a permission error.
"""

from __future__ import annotations

from collections.abc import Iterable

from components.readiness import GENERIC, Finding, Invariant, Order, check, finding, invariant
from components.testing import Graph, GraphResource

RUN_SERVICE = "gcp:cloudrunv2/service:Service"
SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
SQL_USER = "gcp:sql/user:User"
REDIS = "gcp:redis/instance:Instance"
PSA = "gcp:servicenetworking/connection:Connection"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
TOPIC_MEMBER = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION_MEMBER = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
IAM_MEMBERS = (
    "gcp:projects/iAMMember:IAMMember",
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    TOPIC_MEMBER,
    SUBSCRIPTION_MEMBER,
)
#: where each encrypted type names its key, and the service agent's mail domain
CMEK_INPUTS = {
    "gcp:pubsub/topic:Topic": ("kmsKeyName", "gcp-sa-pubsub"),
    "gcp:artifactregistry/repository:Repository": ("kmsKeyName", "gcp-sa-artifactregistry"),
    REDIS: ("customerManagedKey", "cloud-redis"),
    SQL_INSTANCE: ("encryptionKeyName", "gcp-sa-cloud-sql"),
    "gcp:secretmanager/secret:Secret": ("replication.auto.customerManagedEncryption", "gcp-sa-secretmanager"),
}
PUBLISHER = "roles/pubsub.publisher"
SUBSCRIBER = "roles/pubsub.subscriber"


def _service_account(service: GraphResource) -> str | None:
    account = (service.inputs.get("template") or {}).get("serviceAccount")
    return account if isinstance(account, str) else None


@invariant("iam-before-service")
def service_waits_for_its_bindings(order: Order) -> Iterable[Finding]:
    """A revision whose service account lacks a role (a secret it reads, the database login) fails to start."""
    for service in order.graph.of_type(RUN_SERVICE):
        account = _service_account(service)
        if account is None:
            continue
        member = f"serviceAccount:{account}"
        for type_token in IAM_MEMBERS:
            for binding in order.graph.of_type(type_token):
                if binding.inputs.get("member") == member and not order.waits_for(service, binding):
                    yield finding(
                        service,
                        binding,
                        message=f"{service.name} does not wait for {binding.name} ({binding.inputs.get('role')}): "
                        f"add it to the service's depends_on",
                    )
        users = [u for u in order.graph.of_type(SQL_USER) if f"{u.inputs.get('name')}.gserviceaccount.com" == account]
        for user in users:
            if not order.waits_for(service, user):
                yield finding(service, user, message=f"{service.name} does not wait for its database user {user.name}")


@invariant("psa-before-private-data")
def private_data_waits_for_peering(order: Order) -> Iterable[Finding]:
    """Cloud SQL and Memorystore take their private IP from the peered range; created first, they fail."""
    connections = order.graph.of_type(PSA)
    for store in [*order.graph.of_type(SQL_INSTANCE), *order.graph.of_type(REDIS)]:
        if not any(order.waits_for(store, connection) for connection in connections):
            yield finding(
                store,
                message=f"{store.name} does not wait for a Private Service Access connection "
                f"({PSA}): add the connection to its depends_on",
            )


@invariant("pubsub-agent-before-dead-letter")
def dead_letter_roles_in_place(order: Order) -> Iterable[Finding]:
    """Pub/Sub forwards undeliverable messages as its service agent; without publisher on the dead-letter
    topic and subscriber on the subscription the messages are never dead-lettered, silently."""
    publishers = [m for m in order.graph.of_type(TOPIC_MEMBER) if m.inputs.get("role") == PUBLISHER]
    subscribers = [m for m in order.graph.of_type(SUBSCRIPTION_MEMBER) if m.inputs.get("role") == SUBSCRIBER]
    for subscription in order.graph.of_type(SUBSCRIPTION):
        if "deadLetterPolicy" not in subscription.inputs:
            continue
        agents = [m for m in publishers if "gcp-sa-pubsub" in str(m.inputs.get("member"))]
        if not any(order.waits_for(subscription, m) for m in agents):
            yield finding(
                subscription,
                message=f"{subscription.name} does not wait for the Pub/Sub agent's {PUBLISHER} binding on its "
                "dead-letter topic",
            )
        agent_subscribers = [
            m
            for m in subscribers
            if "gcp-sa-pubsub" in str(m.inputs.get("member")) and order.waits_for(m, subscription)
        ]
        if not agent_subscribers:
            yield finding(
                subscription,
                message=f"{subscription.name}: the Pub/Sub agent has no {SUBSCRIBER} binding on it",
            )


def _nested(inputs: dict, path: str) -> object:
    """The input at a dotted path (a secret's key is in its replication), or None."""
    value: object = inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@invariant("key-use-before-encryption")
def stores_wait_for_key_use(order: Order) -> Iterable[Finding]:
    """A store created with a customer-managed key its service agent may not use yet fails to create."""
    bindings = order.graph.of_type(KEY_MEMBER)
    for type_token, (key_input, agent) in CMEK_INPUTS.items():
        for store in order.graph.of_type(type_token):
            if not _nested(store.inputs, key_input):
                continue  # Google-managed encryption (gcp.insecure.googleManagedKeys): no agent to wait for
            mine = [b for b in bindings if agent in str(b.inputs.get("member"))]
            if not any(order.waits_for(store, b) for b in mine):
                yield finding(
                    store,
                    message=f"{store.name} is encrypted with a customer-managed key but does not wait for "
                    f"the {agent} service agent's key binding",
                )


INVARIANTS: tuple[Invariant, ...] = (
    *GENERIC,
    service_waits_for_its_bindings,
    private_data_waits_for_peering,
    dead_letter_roles_in_place,
    stores_wait_for_key_use,
)


def findings(graph: Graph) -> list[Finding]:
    """Every readiness finding on a planned GCP graph (empty when it is ready to deploy)."""
    return check(graph, INVARIANTS)
