"""Queue: a Service Bus namespace (Entra ID only, TLS 1.2, private) and the work queue with
dead-lettering."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.azure.identity import assign_role
from components.base import Block, BlockArgs


@dataclass(kw_only=True)
class QueueArgs(BlockArgs):
    """Inputs of :class:`Queue`. Child keys for ``transform``: ``namespace``, ``queue``,
    ``send-<key>``, ``receive-<key>``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    capacity: int = 1
    """Premium messaging units (Premium is the tier with private endpoints)."""
    max_delivery_count: int = 5
    """Deliveries before a message moves to the dead-letter queue."""
    lock_duration_seconds: int = 300
    """Matches the app's longest request (300 s; Service Bus allows at most 5 minutes)."""
    public_access: bool = False
    """Also accept public traffic (the stack's opt-out azure.insecure.publicDataServices)."""
    local_auth: bool = False
    """Also accept SAS keys (the stack's opt-out azure.insecure.localAuth); the app uses Entra ID."""


class Queue(Block):
    """Work queue for asynchronous jobs; messages that expire or fail too often are dead-lettered."""

    namespace_id: pulumi.Output[str]
    """Id of the Service Bus namespace."""
    queue_id: pulumi.Output[str]
    """Id of the job queue."""
    queue_name: pulumi.Output[str]
    """Name of the job queue."""
    fully_qualified_namespace: pulumi.Output[str]
    """Host of the Service Bus namespace (``<name>.servicebus.windows.net``)."""

    def __init__(self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:Queue", name, args, opts)
        import pulumi_azure_native.servicebus as servicebus

        namespace = self.child(
            "namespace",
            servicebus.Namespace,
            servicebus.NamespaceArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                sku=servicebus.SBSkuArgs(
                    name=servicebus.SkuName.PREMIUM, tier=servicebus.SkuTier.PREMIUM, capacity=args.capacity
                ),
                disable_local_auth=not args.local_auth,
                minimum_tls_version="1.2",
                public_network_access="Enabled" if args.public_access else "Disabled",
                premium_messaging_partitions=1,
            ),
        )
        queue = self.child(
            "queue",
            servicebus.Queue,
            servicebus.QueueArgs(
                resource_group_name=args.resource_group_name,
                namespace_name=namespace.name,
                queue_name="jobs",
                dead_lettering_on_message_expiration=True,
                max_delivery_count=args.max_delivery_count,
                lock_duration=f"PT{args.lock_duration_seconds // 60}M{args.lock_duration_seconds % 60}S",
                default_message_time_to_live="P4D",
            ),
        )
        self.namespace = namespace
        self.namespace_id = namespace.id
        self.queue_id = queue.id
        self.queue_name = queue.name
        self.fully_qualified_namespace = namespace.service_bus_endpoint.apply(
            lambda url: (url or "").removeprefix("https://").split(":")[0].rstrip("/")
        )
        self.register_outputs({"namespaceId": namespace.id, "queueName": queue.name})

    def grant_consume(self, key: str, principal_id: pulumi.Input[str]) -> list[pulumi.Resource]:
        """Send and receive on this queue only (the API enqueues, the worker receives and settles)."""
        return [
            assign_role(self, f"send-{key}", "Azure Service Bus Data Sender", self.queue_id, principal_id),
            assign_role(self, f"receive-{key}", "Azure Service Bus Data Receiver", self.queue_id, principal_id),
        ]


def _validate(args: QueueArgs) -> None:
    limits = {
        "capacity": (args.capacity, 1, 16),
        "max_delivery_count": (args.max_delivery_count, 1, 2000),
        "lock_duration_seconds": (args.lock_duration_seconds, 5, 300),
    }
    for field_name, (value, low, high) in limits.items():
        if not low <= value <= high:
            raise ValueError(f"QueueArgs.{field_name}={value}: allowed {low} to {high}")
