"""SecretStore (Kubernetes): the app's secrets in one Secret, and the namespace's private CA.

Secret values come from Pulumi secrets (``pulumi config set --secret``) and reach containers
only by reference (``valueFrom.secretKeyRef``), never as a plain value in the pod spec.

In-cluster TLS (Redis, PostgreSQL) needs server certificates the app can verify: cert-manager
(a prerequisite, like the CRDs of the edge) runs a private CA per namespace: a self-signed
Issuer signs the CA certificate, a CA Issuer signs the servers'. Each certificate's Secret
carries ``ca.crt``, which the app mounts to verify the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.base import Block, BlockArgs
from components.kubernetes.objects import NamespacedBlock, custom_resource, meta

CERT_MANAGER = "cert-manager.io/v1"
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


@dataclass(kw_only=True)
class SecretStoreArgs(BlockArgs):
    namespace: str
    """The namespace of the Secret and the private CA."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Secret config key -> value (a Pulumi secret); each becomes a key of the Secret."""
    private_ca: bool = True
    """Create the namespace's private CA (cert-manager) for in-cluster TLS."""


@dataclass(frozen=True)
class SecretStoreRef:
    """What the data stores use of a SecretStore, as plain values: its Secret (env references to a
    key) and its CA Issuer (their certificates). ``SecretStore.ref`` gives it for a store built in
    the program; a program in another language gives the names (the ``KubernetesSecretStore``
    facade's ``secretName`` and ``issuerName`` outputs), as a resource cannot cross languages."""

    namespace: str
    secret_name: pulumi.Input[str] | None
    """Name of the app's Secret (``None``: not given, a reference to a key is refused)."""
    issuer_name: pulumi.Input[str] | None
    """Name of the CA Issuer (``None``: no private CA, a certificate is refused)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the certificates it issues."""
    keys: tuple[str, ...] | None = None
    """The Secret's keys, when known: a reference to another key is refused."""
    issuer: Any = None
    """The Issuer resource a certificate waits for, when built in the program (else the caller
    orders the certificate after the store: ``dependsOn``)."""

    def reference(self, key: str) -> Any:
        """The ``valueFrom`` of an env var holding secret ``key``."""
        from pulumi_kubernetes.core.v1 import EnvVarSourceArgs, SecretKeySelectorArgs

        if self.secret_name is None:
            raise ValueError(f"secret {key!r}: no Secret name given to reference it in")
        if self.keys is not None and key not in self.keys:
            raise KeyError(f"secret {key!r} is not in the store; it holds {sorted(self.keys)}")
        return EnvVarSourceArgs(secret_key_ref=SecretKeySelectorArgs(name=self.secret_name, key=key))

    def server_certificate(self, block: Block, secret_name: str, dns_names: Sequence[str]) -> Any:
        """A server certificate from the private CA, as a child of ``block``; its Secret is ``secret_name``
        (``tls.crt``, ``tls.key``, ``ca.crt``)."""
        if self.issuer_name is None:
            raise ValueError("SecretStoreArgs.private_ca is off: this store issues no certificates")
        return block.child(
            "certificate",
            custom_resource(CERT_MANAGER, "Certificate"),
            {
                "metadata": meta(secret_name, self.namespace, self.labels),
                "spec": {
                    "secretName": secret_name,
                    "dnsNames": list(dns_names),
                    "duration": "2160h",
                    "renewBefore": "720h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "usages": ["server auth", "digital signature", "key encipherment"],
                    "issuerRef": {"name": self.issuer_name, "kind": "Issuer", "group": "cert-manager.io"},
                },
            },
            self.after_issuer(),
        )

    def after_issuer(self) -> pulumi.ResourceOptions:
        """Options for a certificate: it waits for the Issuer when the program built it."""
        return pulumi.ResourceOptions(depends_on=[self.issuer] if self.issuer is not None else None)


class SecretStore(NamespacedBlock):
    """The app's Secret and the private CA (child keys: ``secret``, ``ca-bootstrap``, ``ca``, ``ca-issuer``)."""

    secret_name: str
    """Name of the Secret holding the app's secrets."""
    issuer_name: str | None
    """Name of the private CA's Issuer (absent without ``private_ca``): the data stores'
    certificates come from it."""

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        bad = [key for key in args.secrets if not _SECRET_KEY.match(key)]
        if bad:
            raise ValueError(f"SecretStoreArgs.secrets: keys {bad} are not Secret keys (1-253 of a-z, 0-9, -, _, .)")
        super().__init__("ai-platform:kubernetes:SecretStore", name, args, opts)
        from pulumi_kubernetes.core.v1 import Secret, SecretInitArgs

        self.namespace = args.namespace
        self._labels = dict(args.tags)
        self.secret_name = f"{name}-app"
        self.secret = self.child(
            "secret",
            Secret,
            SecretInitArgs(
                metadata=meta(self.secret_name, args.namespace),
                type="Opaque",
                string_data={key: pulumi.Output.secret(value) for key, value in args.secrets.items()},
            ),
            stateful=True,
        )
        self.keys = tuple(args.secrets)
        self.issuer_name = None
        self.issuer: Any = None
        if args.private_ca:
            self._private_ca(name)
        self.register_outputs({"secretName": self.secret_name})

    def _private_ca(self, name: str) -> None:
        bootstrap = self.child(
            "ca-bootstrap",
            custom_resource(CERT_MANAGER, "Issuer"),
            {"metadata": meta(f"{name}-ca-bootstrap", self.namespace, self._labels), "spec": {"selfSigned": {}}},
        )
        ca_secret = f"{name}-ca"
        ca = self.child(
            "ca",
            custom_resource(CERT_MANAGER, "Certificate"),
            {
                "metadata": meta(ca_secret, self.namespace, self._labels),
                "spec": {
                    "isCA": True,
                    "commonName": f"{self.namespace} private CA",
                    "secretName": ca_secret,
                    "duration": "87600h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {"name": f"{name}-ca-bootstrap", "kind": "Issuer", "group": "cert-manager.io"},
                },
            },
            pulumi.ResourceOptions(depends_on=[bootstrap]),
            stateful=True,
        )
        self.issuer_name = f"{name}-ca"
        self.issuer = self.child(
            "ca-issuer",
            custom_resource(CERT_MANAGER, "Issuer"),
            {
                "metadata": meta(self.issuer_name, self.namespace, self._labels),
                "spec": {"ca": {"secretName": ca_secret}},
            },
            pulumi.ResourceOptions(depends_on=[ca]),
        )

    @property
    def ref(self) -> SecretStoreRef:
        """The store as the data stores use it."""
        return SecretStoreRef(
            namespace=self.namespace,
            secret_name=self.secret_name,
            issuer_name=self.issuer_name,
            labels=self._labels,
            keys=self.keys,
            issuer=self.issuer,
        )

    def reference(self, key: str) -> Any:
        """The ``valueFrom`` of an env var holding secret ``key``."""
        return self.ref.reference(key)

    def server_certificate(self, block: Block, secret_name: str, dns_names: Sequence[str]) -> Any:
        """A server certificate from the private CA, as a child of ``block`` (see :class:`SecretStoreRef`)."""
        return self.ref.server_certificate(block, secret_name, dns_names)
