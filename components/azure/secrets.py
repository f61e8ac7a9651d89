"""SecretStore: a Key Vault (RBAC only, purge protection, private) holding the stack's secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.azure.identity import assign_role
from components.azure.spec import vault_name
from components.base import Block, BlockArgs


@dataclass(kw_only=True)
class SecretStoreArgs(BlockArgs):
    """Inputs of :class:`SecretStore`. Child keys for ``transform``: ``vault``, ``secret-<name>``,
    ``readers-<key>``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    vault_name: str
    """Globally unique name of the Key Vault."""
    tenant_id: pulumi.Input[str]
    """Entra ID tenant of the vault."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Config key -> secret value (a Pulumi secret); stored as Key Vault secrets."""
    soft_delete_days: int = 90
    """Days a deleted secret can be recovered."""
    public_access: bool = False
    """Also accept public traffic (the stack's opt-out azure.insecure.publicDataServices)."""
    purge_protection: bool = True
    """Off only with the shared opt-out insecure.disableDeletionProtection (Azure cannot turn it off later)."""


class SecretStore(Block):
    """The stack's secrets in Key Vault; the app reads them by reference (``secret_urls``) with its identity."""

    vault_id: pulumi.Output[str]
    """Id of the Key Vault."""
    vault_uri: pulumi.Output[str]
    """URI of the Key Vault."""
    secret_urls: dict[str, pulumi.Output[str]]
    """Secret name -> its versionless URL."""

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:SecretStore", name, args, opts)
        import pulumi_azure_native.keyvault as keyvault

        vault = self.child(
            "vault",
            keyvault.Vault,
            keyvault.VaultArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                vault_name=args.vault_name,
                properties=keyvault.VaultPropertiesArgs(
                    tenant_id=args.tenant_id,
                    sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                    enable_rbac_authorization=True,
                    # the API refuses false: omitted is off
                    enable_purge_protection=True if args.purge_protection else None,
                    enable_soft_delete=True,
                    soft_delete_retention_in_days=args.soft_delete_days,
                    public_network_access="Enabled" if args.public_access else "Disabled",
                    network_acls=keyvault.NetworkRuleSetArgs(
                        default_action="Allow" if args.public_access else "Deny", bypass="AzureServices"
                    ),
                ),
            ),
            stateful=True,
        )
        self.vault = vault
        self.vault_id = vault.id
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri or "")
        self.secret_urls = {}
        for key, value in args.secrets.items():
            secret = self.child(
                f"secret-{key}",
                keyvault.Secret,
                keyvault.SecretArgs(
                    resource_group_name=args.resource_group_name,
                    vault_name=vault.name,
                    secret_name=secret_name(key),
                    properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value)),
                ),
                name=f"secret-{secret_name(key)}",
                stateful=True,
            )
            # the unversioned URL: the app picks up a rotated value on its next revision
            self.secret_urls[key] = pulumi.Output.concat(self.vault_uri, "secrets/", secret.name)
        self.register_outputs({"vaultId": vault.id, "vaultUri": self.vault_uri})

    def grant_read(self, key: str, principal_id: pulumi.Input[str]) -> pulumi.Resource:
        """Key Vault Secrets User on this vault for a managed identity (the app, the gateway)."""
        return assign_role(self, f"readers-{key}", "Key Vault Secrets User", self.vault_id, principal_id)


def secret_name(config_key: str) -> str:
    """A Key Vault secret name (letters, digits, hyphens) for a config key (``redisAuthToken``)."""
    return "".join(c if c.isalnum() else "-" for c in config_key)


def _validate(args: SecretStoreArgs) -> None:
    problem = vault_name(args.vault_name)
    if problem:
        raise ValueError(f"SecretStoreArgs.vault_name={args.vault_name!r}: {problem}")
    if not 7 <= args.soft_delete_days <= 90:
        raise ValueError(f"SecretStoreArgs.soft_delete_days={args.soft_delete_days}: allowed 7 to 90")
