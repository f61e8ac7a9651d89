"""SecretStore: one Secret Manager secret per app secret, encrypted with the platform's key, its
value from Pulumi secrets, readable only by the members granted with :meth:`SecretStore.grant_access`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp.secretmanager as secretmanager

from components.base import Block
from components.gcp.apis import GcpArgs, after
from components.gcp.iam import member_problem

ACCESSOR = "roles/secretmanager.secretAccessor"
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def secret_id(key: str) -> str:
    """The secret's id for a config key (``openaiApiKey`` -> ``openai-api-key``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()


@dataclass(kw_only=True)
class SecretStoreArgs(GcpArgs):
    """Inputs of :class:`SecretStore`. Child keys for ``transform``: ``secret-<key>``,
    ``version-<key>``, ``access-<key>``."""

    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Config key -> value (a Pulumi secret); each becomes a secret named after the key."""
    kms_key_name: pulumi.Input[str] | None = None
    """Customer-managed key for every replica; ``None``: Google-managed encryption."""
    wait_for: list[pulumi.Resource] = field(default_factory=list)
    """The Secret Manager agent's key binding: secrets encrypted with the key wait for it."""
    prefix: str = ""
    """Prepended to every secret id (several platforms in one project)."""


class SecretStore(Block):
    secret_ids: dict[str, pulumi.Output[str]]
    """Config key -> the secret's id (what ``secret_key_ref.secret`` takes)."""

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        bad = [key for key in args.secrets if not _SECRET_ID.match(args.prefix + secret_id(key))]
        if bad:
            raise ValueError(f"SecretStoreArgs.secrets keys {bad}: ids must be 1-255 of A-Z, a-z, 0-9, _ and -")
        super().__init__("ai-platform:gcp:SecretStore", name, args, opts)
        replication = secretmanager.SecretReplicationArgs(
            auto=secretmanager.SecretReplicationAutoArgs(
                customer_managed_encryption=None
                if args.kms_key_name is None
                else secretmanager.SecretReplicationAutoCustomerManagedEncryptionArgs(kms_key_name=args.kms_key_name)
            )
        )
        self._secrets: dict[str, secretmanager.Secret] = {}
        self.secret_ids = {}
        for key, value in args.secrets.items():
            secret = self.child(
                f"secret-{key}",
                secretmanager.Secret,
                secretmanager.SecretArgs(
                    project=args.project, secret_id=args.prefix + secret_id(key), replication=replication
                ),
                after(args, *args.wait_for),
                name=secret_id(key),
                stateful=True,
            )
            self.child(
                f"version-{key}",
                secretmanager.SecretVersion,
                secretmanager.SecretVersionArgs(secret=secret.id, secret_data=pulumi.Output.secret(value)),
                name=f"{secret_id(key)}-v",
                stateful=True,
            )
            self._secrets[key] = secret
            self.secret_ids[key] = secret.secret_id
        self.register_outputs({"secretIds": self.secret_ids})

    def grant_access(self, member: pulumi.Input[str], keys: list[str] | None = None) -> list[pulumi.Resource]:
        """``secretAccessor`` for ``member`` on each secret (all, or ``keys``): one binding per
        secret, never project-wide."""
        if isinstance(member, str):
            problem = member_problem(member)
            if problem:
                raise ValueError(f"SecretStore.grant_access member={member!r}: {problem}")
        unknown = sorted(set(keys or ()) - set(self._secrets))
        if unknown:
            raise ValueError(f"SecretStore.grant_access keys={unknown}: not in this store ({sorted(self._secrets)})")
        return [
            self.child(
                f"access-{key}",
                secretmanager.SecretIamMember,
                secretmanager.SecretIamMemberArgs(
                    project=secret.project, secret_id=secret.secret_id, role=ACCESSOR, member=member
                ),
                name=f"{secret_id(key)}-access",
            )
            for key, secret in self._secrets.items()
            if keys is None or key in keys
        ]
