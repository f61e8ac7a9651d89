"""AI: an Azure OpenAI account (Entra ID only, private) with one deployment per configured model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi

from components.azure.identity import assign_role
from components.base import Block, BlockArgs

_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


@dataclass(frozen=True)
class ModelDeployment:
    name: str
    """Name of the deployment (what the app asks for)."""
    model: str
    """The OpenAI model, e.g. gpt-4o-mini."""
    version: str
    """The model version."""
    sku: str = "GlobalStandard"
    """Deployment SKU (capacity type)."""
    capacity: int = 10
    """Capacity in thousands of tokens per minute."""


@dataclass(kw_only=True)
class AiArgs(BlockArgs):
    """Inputs of :class:`Ai`. Child keys for ``transform``: ``account``, ``deployment-<name>``,
    ``users-<key>``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    custom_subdomain: str
    """Custom subdomain of the Azure OpenAI account (its endpoint's host; needed for Entra ID auth)."""
    deployments: list[ModelDeployment] = field(default_factory=list)
    """The model deployments to create in the account."""
    public_access: bool = False
    """Also accept public traffic (the stack's opt-out azure.insecure.publicDataServices)."""
    local_auth: bool = False
    """Also accept API keys (the stack's opt-out azure.insecure.localAuth); the app uses Entra ID."""


class Ai(Block):
    """Model endpoints the app calls with Entra ID tokens (Cognitive Services OpenAI User)."""

    account_id: pulumi.Output[str]
    """Id of the Azure OpenAI account."""
    endpoint: pulumi.Output[str]
    """Endpoint of the Azure OpenAI account."""

    def __init__(self, name: str, args: AiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:Ai", name, args, opts)
        import pulumi_azure_native.cognitiveservices as cognitiveservices

        account = self.child(
            "account",
            cognitiveservices.Account,
            cognitiveservices.AccountArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind="OpenAI",
                sku=cognitiveservices.SkuArgs(name="S0"),
                properties=cognitiveservices.AccountPropertiesArgs(
                    custom_sub_domain_name=args.custom_subdomain,
                    disable_local_auth=not args.local_auth,
                    public_network_access="Enabled" if args.public_access else "Disabled",
                    network_acls=cognitiveservices.NetworkRuleSetArgs(
                        default_action="Allow" if args.public_access else "Deny"
                    ),
                ),
            ),
        )
        previous: pulumi.Resource = account
        for deployment in args.deployments:
            # the account takes one deployment change at a time
            previous = self.child(
                f"deployment-{deployment.name}",
                cognitiveservices.Deployment,
                cognitiveservices.DeploymentArgs(
                    resource_group_name=args.resource_group_name,
                    account_name=account.name,
                    deployment_name=deployment.name,
                    sku=cognitiveservices.SkuArgs(name=deployment.sku, capacity=deployment.capacity),
                    properties=cognitiveservices.DeploymentPropertiesArgs(
                        model=cognitiveservices.DeploymentModelArgs(
                            format="OpenAI", name=deployment.model, version=deployment.version
                        ),
                    ),
                ),
                pulumi.ResourceOptions(depends_on=[previous]),
                name=f"deployment-{deployment.name}",
            )
        self.account = account
        self.account_id = account.id
        self.endpoint = pulumi.Output.from_input(f"https://{args.custom_subdomain}.openai.azure.com")
        self.register_outputs({"accountId": account.id, "endpoint": self.endpoint})

    def grant_use(self, key: str, principal_id: pulumi.Input[str]) -> pulumi.Resource:
        """Cognitive Services OpenAI User: call the deployments, nothing else."""
        return assign_role(self, f"users-{key}", "Cognitive Services OpenAI User", self.account_id, principal_id)


def _validate(args: AiArgs) -> None:
    if not _SUBDOMAIN.match(args.custom_subdomain):
        raise ValueError(
            f"AiArgs.custom_subdomain={args.custom_subdomain!r}: "
            "must be 3-64 lower-case letters, digits and inner hyphens"
        )
    names = [d.name for d in args.deployments]
    if len(set(names)) != len(names):
        raise ValueError(f"AiArgs.deployments: names must be unique, got {names}")
