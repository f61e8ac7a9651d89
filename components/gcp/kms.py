"""EncryptionKey: the platform's Cloud KMS key (CMEK) and the service agents allowed to use it.

Every data store that takes a customer-managed key uses this one (Pub/Sub, Secret Manager,
Memorystore, Cloud SQL, Artifact Registry). Each service encrypts through its own service agent,
which must hold ``cryptoKeyEncrypterDecrypter`` on the key *before* the store is created, or the
creation fails: :meth:`EncryptionKey.allow_service` creates the agent and that binding, and
returns the binding for the store to wait on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_gcp.kms as kms
import pulumi_gcp.projects as projects

from components.base import Block
from components.gcp.apis import GcpArgs, after

#: the longest rotation period the platform allows (issue: at most 90 days)
MAX_ROTATION_DAYS = 90
ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
_KEY_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")


@dataclass(kw_only=True)
class EncryptionKeyArgs(GcpArgs):
    """Inputs of :class:`EncryptionKey`. Child keys for ``transform``: ``keyRing``, ``key``,
    ``agent-<api>``, ``agentKeyUse-<api>``."""

    location: str
    """The key ring's region (a regional key: Pub/Sub, Cloud SQL and Memorystore need one in their region)."""
    rotation_days: int = MAX_ROTATION_DAYS
    """Days between automatic key rotations."""
    key_ring_name: str = "ai-platform"
    """Name of the key ring holding the key."""


class EncryptionKey(Block):
    """A key ring and a symmetric key rotated at most every 90 days (protected in prod)."""

    key_id: pulumi.Output[str]
    """``projects/P/locations/L/keyRings/R/cryptoKeys/K``: what ``kmsKeyName`` inputs take."""

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not 1 <= args.rotation_days <= MAX_ROTATION_DAYS:
            raise ValueError(
                f"EncryptionKeyArgs.rotation_days={args.rotation_days}: must be 1 to {MAX_ROTATION_DAYS} days"
            )
        if not _KEY_NAME.match(args.key_ring_name):
            raise ValueError(f"EncryptionKeyArgs.key_ring_name={args.key_ring_name!r}: 1-63 of a-z, A-Z, 0-9, _ and -")
        super().__init__("ai-platform:gcp:EncryptionKey", name, args, opts)
        self._args = args
        ring = self.child(
            "keyRing",
            kms.KeyRing,
            kms.KeyRingArgs(project=args.project, location=args.location, name=f"{args.key_ring_name}-{name}"),
            after(args),
            name="ring",
            stateful=True,  # key rings cannot be deleted; protect keeps `destroy` from trying
        )
        self.key = self.child(
            "key",
            kms.CryptoKey,
            kms.CryptoKeyArgs(
                key_ring=ring.id,
                name="data",
                purpose="ENCRYPT_DECRYPT",
                rotation_period=f"{args.rotation_days * 86400}s",
            ),
            name="key",
            stateful=True,
        )
        self.key_id = self.key.id
        self.register_outputs({"keyId": self.key_id})

    def grant_encrypt_decrypt(self, key: str, member: pulumi.Input[str]) -> kms.CryptoKeyIAMMember:
        """Let ``member`` (``serviceAccount:...``) encrypt and decrypt with the key."""
        return self.child(
            f"agentKeyUse-{key}",
            kms.CryptoKeyIAMMember,
            kms.CryptoKeyIAMMemberArgs(crypto_key_id=self.key.id, role=ENCRYPTER, member=member),
            name=f"{key}-key-use",
        )

    def allow_service(self, api: str) -> tuple[pulumi.Output[str], kms.CryptoKeyIAMMember]:
        """The service agent of ``api`` (``pubsub.googleapis.com``) and its binding on the key:
        a store encrypted with the key must wait for that binding."""
        if not api.endswith(".googleapis.com"):
            raise ValueError(
                f"EncryptionKey.allow_service api={api!r}: must be an API name such as pubsub.googleapis.com"
            )
        short = api.split(".", 1)[0]
        agent = self.child(
            f"agent-{short}",
            projects.ServiceIdentity,
            projects.ServiceIdentityArgs(project=self._args.project, service=api),
            after(self._args),
            name=f"{short}-agent",
        )
        binding = self.grant_encrypt_decrypt(short, agent.member)
        return agent.email, binding
