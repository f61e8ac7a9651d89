"""Registry: a private Azure Container Registry (no admin user, no anonymous pull) and the
deployed image, pinned by digest."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import validation
from components.azure.identity import assign_role
from components.azure.spec import registry_name
from components.base import Block, BlockArgs


@dataclass(kw_only=True)
class RegistryArgs(BlockArgs):
    """Inputs of :class:`Registry`. Child keys for ``transform``: ``registry``, ``pull-<key>``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    registry_name: str
    """Globally unique name of the container registry."""
    image_digest: str
    """``<registry>.azurecr.io/<repo>@sha256:<digest>``, pushed by CI."""
    zone_redundant: bool = False
    """Replicate the registry over availability zones (Premium)."""
    public_access: bool = False
    """Also accept public traffic (the stack's opt-out azure.insecure.publicDataServices)."""


class Registry(Block):
    """Where the app's images live; the app pulls with its identity (AcrPull)."""

    registry_id: pulumi.Output[str]
    """Id of the container registry."""
    login_server: pulumi.Output[str]
    """Login server of the registry."""
    image_ref: str
    """The image to deploy, pinned by digest."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:Registry", name, args, opts)
        import pulumi_azure_native.containerregistry as containerregistry

        registry = self.child(
            "registry",
            containerregistry.Registry,
            containerregistry.RegistryArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                registry_name=args.registry_name,
                # Premium: the tier with private endpoints
                sku=containerregistry.SkuArgs(name="Premium"),
                admin_user_enabled=False,
                anonymous_pull_enabled=False,
                public_network_access="Enabled" if args.public_access else "Disabled",
                network_rule_bypass_options="AzureServices",
                zone_redundancy="Enabled" if args.zone_redundant else "Disabled",
            ),
        )
        self.registry = registry
        self.registry_id = registry.id
        self.login_server = registry.login_server
        self.image_ref = args.image_digest
        self.register_outputs({"registryId": registry.id, "loginServer": registry.login_server})

    def grant_pull(self, key: str, principal_id: pulumi.Input[str]) -> pulumi.Resource:
        return assign_role(self, f"pull-{key}", "AcrPull", self.registry_id, principal_id)


def _validate(args: RegistryArgs) -> None:
    problem = registry_name(args.registry_name)
    if problem:
        raise ValueError(f"RegistryArgs.registry_name={args.registry_name!r}: {problem}")
    problem = validation.digest_ref(args.image_digest)
    if problem:
        raise ValueError(f"RegistryArgs.image_digest={args.image_digest!r}: {problem}")
    if not args.image_digest.startswith(f"{args.registry_name.lower()}.azurecr.io/"):
        raise ValueError(
            f"RegistryArgs.image_digest={args.image_digest!r}: must be in {args.registry_name.lower()}.azurecr.io"
        )
