"""Network (Kubernetes): the namespace, with Pod Security Admission and default-deny NetworkPolicies.

The namespace enforces the Pod Security Standards ``restricted`` profile at a pinned version
(and warns and audits at it), so a pod that loosens its security context is refused by the API
server, whatever created it. A default-deny NetworkPolicy (every pod, Ingress and Egress, no
rules) closes the namespace; each block then opens exactly its own paths (``allow_*``), and
this block opens DNS to kube-dns for every pod.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.base import BlockArgs
from components.kubernetes.objects import NamespacedBlock, meta
from components.kubernetes.spec import dns_label

PSA = "pod-security.kubernetes.io/"
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}
"""The label of the cluster DNS pods (kube-dns and CoreDNS both carry it)."""


@dataclass(kw_only=True)
class NetworkArgs(BlockArgs):
    namespace: str
    """The namespace to create, with Pod Security ``restricted`` and default-deny NetworkPolicies."""
    pod_security_version: str = "v1.34"
    """The Pod Security Standards version enforced (pinned, so a cluster upgrade does not change it)."""


class Network(NamespacedBlock):
    """The namespace and its default deny (child keys: ``namespace``, ``default-deny``, ``allow-dns``)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problem = dns_label(args.namespace)
        if problem or args.namespace == "default":
            raise ValueError(f"NetworkArgs.namespace {args.namespace!r}: {problem or 'must not be default'}")
        super().__init__("ai-platform:kubernetes:Network", name, args, opts)
        from pulumi_kubernetes.core.v1 import Namespace, NamespaceInitArgs
        from pulumi_kubernetes.meta.v1 import LabelSelectorArgs
        from pulumi_kubernetes.networking.v1 import (
            NetworkPolicy,
            NetworkPolicyEgressRuleArgs,
            NetworkPolicyInitArgs,
            NetworkPolicyPeerArgs,
            NetworkPolicyPortArgs,
            NetworkPolicySpecArgs,
        )

        labels = {}
        for mode in ("enforce", "warn", "audit"):
            labels[PSA + mode] = "restricted"
            labels[f"{PSA}{mode}-version"] = args.pod_security_version
        self.namespace = self.child(
            "namespace", Namespace, NamespaceInitArgs(metadata=meta(args.namespace, None, labels))
        )
        self.namespace_name: pulumi.Output[str] = self.namespace.metadata.apply(lambda m: m.name or args.namespace)
        after_namespace = pulumi.ResourceOptions(depends_on=[self.namespace])
        self.default_deny = self.child(
            "default-deny",
            NetworkPolicy,
            NetworkPolicyInitArgs(
                metadata=meta("default-deny", args.namespace),
                spec=NetworkPolicySpecArgs(pod_selector=LabelSelectorArgs(), policy_types=["Ingress", "Egress"]),
            ),
            after_namespace,
        )
        self.allow_dns = self.child(
            "allow-dns",
            NetworkPolicy,
            NetworkPolicyInitArgs(
                metadata=meta("allow-dns", args.namespace),
                spec=NetworkPolicySpecArgs(
                    pod_selector=LabelSelectorArgs(),
                    policy_types=["Egress"],
                    egress=[
                        NetworkPolicyEgressRuleArgs(
                            to=[
                                NetworkPolicyPeerArgs(
                                    namespace_selector=LabelSelectorArgs(
                                        match_labels={"kubernetes.io/metadata.name": "kube-system"}
                                    ),
                                    pod_selector=LabelSelectorArgs(match_labels=KUBE_DNS_LABELS),
                                )
                            ],
                            ports=[
                                NetworkPolicyPortArgs(port=53, protocol="UDP"),
                                NetworkPolicyPortArgs(port=53, protocol="TCP"),
                            ],
                        )
                    ],
                ),
            ),
            after_namespace,
        )
        self.register_outputs({"namespace": self.namespace_name})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What every namespaced object waits for: the namespace and its default deny."""
        return [self.namespace, self.default_deny, self.allow_dns]
