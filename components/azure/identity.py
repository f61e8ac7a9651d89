"""Identity: the app's user-assigned managed identity, and the role assignments every block's
``grant_*`` returns (built-in role ids, one place)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.base import Block, BlockArgs

#: built-in role definition ids (the same in every tenant)
ROLES: dict[str, str] = {
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Azure Service Bus Data Sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "Azure Service Bus Data Receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}


def role_definition_id(role: str) -> pulumi.Output[str]:
    """The subscription-scoped id of built-in ``role``, as role assignments take it."""
    import pulumi_azure_native.authorization as authorization

    if role not in ROLES:
        raise ValueError(f"role={role!r}: allowed {sorted(ROLES)}")
    return authorization.get_client_config_output().subscription_id.apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"
    )


def assign_role(
    block: Block, key: str, role: str, scope: pulumi.Input[str], principal_id: pulumi.Input[str]
) -> pulumi.Resource:
    """A role assignment of ``role`` on ``scope`` to a managed identity (a child of ``block``)."""
    import pulumi_azure_native.authorization as authorization

    return block.child(
        key,
        authorization.RoleAssignment,
        authorization.RoleAssignmentArgs(
            scope=scope,
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=role_definition_id(role),
        ),
    )


@dataclass(kw_only=True)
class IdentityArgs(BlockArgs):
    """Inputs of :class:`Identity`. Child keys for ``transform``: ``identity``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""


class Identity(Block):
    """A user-assigned identity: created before the roles it gets and the app that uses it."""

    id: pulumi.Output[str]
    """Resource id of the managed identity."""
    principal_id: pulumi.Output[str]
    """Principal (object) id, for role assignments."""
    client_id: pulumi.Output[str]
    """Client id (``AZURE_CLIENT_ID``)."""
    name: pulumi.Output[str]
    """Name of the managed identity."""

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:azure:Identity", name, args, opts)
        import pulumi_azure_native.managedidentity as managedidentity

        identity = self.child(
            "identity",
            managedidentity.UserAssignedIdentity,
            managedidentity.UserAssignedIdentityArgs(
                resource_group_name=args.resource_group_name, location=args.location
            ),
        )
        self.resource = identity
        self.id = identity.id
        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        self.name = identity.name
        self.register_outputs({"id": identity.id, "principalId": identity.principal_id, "clientId": identity.client_id})
