"""Pieces every Kubernetes block builds its objects from, written once.

The Pod Security ``restricted`` profile (pod and container security contexts), object metadata,
label selectors and NetworkPolicies. The SDK's typed modules are imported inside the functions:
``import components.kubernetes`` stays cheap (each typed module costs 0.3-0.8 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from components.base import Block, BlockArgs

if TYPE_CHECKING:
    from pulumi_kubernetes.core.v1 import PodSecurityContextArgs, SecurityContextArgs
    from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
    from pulumi_kubernetes.networking.v1 import NetworkPolicyPeerArgs

#: the user and group every pod runs as (the app image's USER; Redis and PostgreSQL run as it too)
RUN_AS = 10001
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
#: where writable scratch space is mounted (an emptyDir: the root filesystem is read-only)
TMP_MOUNT = "/tmp"
ANYWHERE = "0.0.0.0/0"
#: left out of "anywhere" egress: the cluster's and the VPC's private ranges, and link-local (the
#: cloud metadata endpoint at 169.254.169.254, which hands out node credentials)
PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")


@dataclass(frozen=True)
class Pods:
    """A set of pods by namespace and labels: what NetworkPolicies admit and Services select."""

    namespace: str
    """Namespace of the pods."""
    labels: Mapping[str, str]
    """Labels that select the pods."""

    def peer(self, same_namespace: str) -> NetworkPolicyPeerArgs:
        """The NetworkPolicy peer for these pods, seen from ``same_namespace``."""
        from pulumi_kubernetes.meta.v1 import LabelSelectorArgs
        from pulumi_kubernetes.networking.v1 import NetworkPolicyPeerArgs

        selector = LabelSelectorArgs(match_labels=dict(self.labels))
        if self.namespace == same_namespace:
            return NetworkPolicyPeerArgs(pod_selector=selector)
        return NetworkPolicyPeerArgs(
            pod_selector=selector,
            namespace_selector=LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": self.namespace}),
        )


def component_labels(part_of: str, component: str) -> dict[str, str]:
    """The selector labels of one component's pods (stable: Deployments' selectors are immutable)."""
    return {NAME_LABEL: component, PART_OF_LABEL: part_of}


def meta(
    name: str,
    namespace: str | None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, Any] | None = None,
) -> ObjectMetaArgs:
    from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

    return ObjectMetaArgs(
        name=name,
        namespace=namespace,
        labels=dict(labels) if labels else None,
        annotations=dict(annotations) if annotations else None,
    )


def pod_security_context() -> PodSecurityContextArgs:
    """Pod level of the restricted profile: non-root with a high UID, RuntimeDefault seccomp."""
    from pulumi_kubernetes.core.v1 import PodSecurityContextArgs, SeccompProfileArgs

    return PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS,
        run_as_group=RUN_AS,
        fs_group=RUN_AS,
        seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security_context(*, writable_root: bool = False) -> SecurityContextArgs:
    """Container level: no escalation, no privilege, every capability dropped, read-only root
    (``writable_root``: the named opt-out kubernetes.insecure.writableRootFilesystem)."""
    from pulumi_kubernetes.core.v1 import CapabilitiesArgs, SeccompProfileArgs, SecurityContextArgs

    return SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS,
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=not writable_root,
        capabilities=CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
    )


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Any:
    from pulumi_kubernetes.core.v1 import ResourceRequirementsArgs

    return ResourceRequirementsArgs(
        requests={"cpu": cpu, "memory": memory}, limits={"cpu": cpu_limit, "memory": memory_limit}
    )


def network_policy_args(
    name: str,
    namespace: str,
    pods: Mapping[str, str],
    *,
    ingress_from: Sequence[NetworkPolicyPeerArgs] = (),
    ingress_ports: Sequence[tuple[int, str]] = (),
    egress_to: Sequence[NetworkPolicyPeerArgs] = (),
    egress_ports: Sequence[tuple[int, str]] = (),
    egress_cidrs: Sequence[str] = (),
) -> Any:
    """One allow NetworkPolicy for ``pods``: ingress from peers on ports, or egress to peers/CIDRs on ports."""
    from pulumi_kubernetes.meta.v1 import LabelSelectorArgs
    from pulumi_kubernetes.networking.v1 import (
        IPBlockArgs,
        NetworkPolicyEgressRuleArgs,
        NetworkPolicyIngressRuleArgs,
        NetworkPolicyPeerArgs,
        NetworkPolicyPortArgs,
        NetworkPolicySpecArgs,
    )
    from pulumi_kubernetes.networking.v1 import NetworkPolicyInitArgs as Args

    def ports(items: Sequence[tuple[int, str]]) -> list[NetworkPolicyPortArgs]:
        return [NetworkPolicyPortArgs(port=port, protocol=protocol) for port, protocol in items]

    types: list[str] = []
    ingress = None
    egress = None
    if ingress_from:
        types.append("Ingress")
        ingress = [NetworkPolicyIngressRuleArgs(from_=list(ingress_from), ports=ports(ingress_ports))]
    if egress_to or egress_cidrs:
        types.append("Egress")
        peers = [
            *egress_to,
            *(
                NetworkPolicyPeerArgs(ip_block=IPBlockArgs(cidr=c, except_=list(PRIVATE) if c == ANYWHERE else None))
                for c in egress_cidrs
            ),
        ]
        egress = [NetworkPolicyEgressRuleArgs(to=peers, ports=ports(egress_ports))]
    return Args(
        metadata=meta(name, namespace),
        spec=NetworkPolicySpecArgs(
            pod_selector=LabelSelectorArgs(match_labels=dict(pods)),
            policy_types=types,
            ingress=ingress,
            egress=egress,
        ),
    )


def custom_resource(api_version: str, kind: str) -> Any:
    """A ``Block.child`` factory for a kind without a typed class (cert-manager, Gateway API,
    Prometheus Operator), taking ``{"metadata": ..., "spec": ...}`` as its args."""
    from pulumi_kubernetes.apiextensions import CustomResource

    def create(name: str, args: Mapping[str, Any], opts: Any) -> Any:
        return CustomResource(
            name, api_version=api_version, kind=kind, metadata=args["metadata"], spec=args.get("spec"), opts=opts
        )

    return create


class NamespacedBlock(Block):
    """A block whose ``depends_on`` reaches every child it creates: Pulumi does not pass a
    component's dependencies on to its children, and each object must wait for its namespace
    (and whatever else the caller named) itself."""

    def __init__(
        self,
        type_token: str,
        name: str,
        common: BlockArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(type_token, name, common, opts, props=props)
        waits = opts.depends_on if opts is not None else None
        self._waits: list[Any] = list(waits) if isinstance(waits, list | tuple) else [waits] if waits else []

    def child(
        self, key: str, factory: Any, args: Any, opts: pulumi.ResourceOptions | None = None, **kwargs: Any
    ) -> Any:
        if self._waits:
            opts = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(depends_on=list(self._waits)), opts)
        return super().child(key, factory, args, opts, **kwargs)
