"""What the two in-cluster data stores (Redis, PostgreSQL) share: a StatefulSet under the restricted
profile with a data volume per pod, a headless Service for the pods' names, a ClusterIP Service on
the primary (pod 0), a PodDisruptionBudget when replicated, and ``allow_from`` NetworkPolicies.

Data volumes are kept when the StatefulSet is deleted or scaled down (``Retain``) unless the
caller turns that off (dev).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components import validation
from components.base import BlockArgs
from components.kubernetes import objects
from components.kubernetes.objects import NamespacedBlock, Pods, meta
from components.kubernetes.secrets import SecretStore, SecretStoreRef


@dataclass(kw_only=True)
class StoreArgs(BlockArgs):
    """The arguments both stores take (Cache and VectorStore add their own)."""

    namespace: str
    """The namespace the server runs in (the app's)."""
    part_of: str
    """The app's name: the pods' ``app.kubernetes.io/part-of`` label."""
    image: str
    """The server's image, pinned by digest."""
    secret_store: SecretStore | None = None
    """Issues the server certificate (and holds the secrets the probes read). ``None``: give
    ``issuer_name`` instead (a program in another language, where a resource cannot be an argument)."""
    issuer_name: pulumi.Input[str] | None = None
    """Without ``secret_store``: the name of its CA Issuer (the ``KubernetesSecretStore`` facade's
    ``issuerName`` output), in ``namespace``; order the block after the store (``dependsOn``)."""
    replicas: int = 1
    """Pods, 1-5 (the VectorStore runs one)."""
    primary: int = 0
    """The ordinal of the pod that is the primary (the client Service selects it; the others
    replicate it). Failing over is changing it and running ``pulumi up``."""
    storage_class: str | None = None
    """Storage class of the data volumes (``None``: the cluster's default)."""
    volume_gib: int = 10
    """Size of each pod's data volume, 1-16384 GiB."""
    memory_mib: int = 512
    """Memory of each pod (request = limit), at least 128 MiB."""
    retain_volumes: bool = True
    """Keep the data volumes when the StatefulSet is deleted or scaled down."""


class StatefulStore(NamespacedBlock):
    """Base of Cache and VectorStore (child keys: ``certificate``, ``headless``, ``service``,
    ``statefulset``, ``pdb``, ``allow-<key>``, ``allow-<key>-out``)."""

    port: int
    """The server's port (TLS only)."""
    component: str
    """The server's name: its pods' ``app.kubernetes.io/name`` label and its container's name."""
    host: str
    """The client Service's DNS name (``<name>.<namespace>.svc``): it selects the primary."""
    tls_secret: str
    """The Secret of the server certificate; its ``ca.crt`` is what clients verify the server with."""

    def __init__(
        self,
        type_token: str,
        name: str,
        args: StoreArgs,
        opts: pulumi.ResourceOptions | None,
        argument: str,
        secret_name: pulumi.Input[str] | None = None,
    ) -> None:
        self.secrets = _secret_store(args, argument, secret_name)
        problem = validation.digest_ref(args.image)
        if problem:
            raise ValueError(f"{argument}.image {args.image!r}: {problem}")
        if not 1 <= args.replicas <= 5:
            raise ValueError(f"{argument}.replicas {args.replicas}: must be 1 to 5")
        if not 0 <= args.primary < args.replicas:
            raise ValueError(f"{argument}.primary {args.primary}: must be a pod ordinal, 0 to replicas - 1")
        if args.memory_mib < 128:
            raise ValueError(f"{argument}.memory_mib {args.memory_mib}: must be at least 128")
        if not 1 <= args.volume_gib <= 16_384:
            raise ValueError(f"{argument}.volume_gib {args.volume_gib}: must be 1 to 16384")
        super().__init__(type_token, name, args, opts)
        self.namespace = args.namespace
        self.pods = Pods(args.namespace, objects.component_labels(args.part_of, self.component))
        self.service_name = name
        self.headless = f"{name}-headless"
        self.host = f"{name}.{args.namespace}.svc"
        self.tls_secret = f"{name}-tls"
        self.primary = args.primary
        self.primary_host = f"{name}-{args.primary}.{self.headless}.{args.namespace}.svc"
        self.certificate = self.secrets.server_certificate(
            self, self.tls_secret, [self.host, f"{self.host}.cluster.local", f"*.{self.headless}.{args.namespace}.svc"]
        )
        self._services(name)

    def _services(self, name: str) -> None:
        from pulumi_kubernetes.core.v1 import Service, ServiceInitArgs, ServicePortArgs, ServiceSpecArgs

        ports = [ServicePortArgs(name=self.component, port=self.port, target_port=self.component, protocol="TCP")]
        self.child(
            "headless",
            Service,
            ServiceInitArgs(
                metadata=meta(self.headless, self.namespace),
                spec=ServiceSpecArgs(type="ClusterIP", cluster_ip="None", selector=dict(self.pods.labels), ports=ports),
            ),
        )
        primary = {**self.pods.labels, "statefulset.kubernetes.io/pod-name": f"{name}-{self.primary}"}
        self.service = self.child(
            "service",
            Service,
            ServiceInitArgs(
                metadata=meta(name, self.namespace),
                spec=ServiceSpecArgs(type="ClusterIP", selector=primary, ports=ports),
            ),
        )

    def _stateful_set(
        self,
        args: StoreArgs,
        container: Mapping[str, Any],
        volumes: Sequence[Any],
        depends_on: Sequence[pulumi.Resource],
        data_mount: str,
    ) -> Any:
        """The StatefulSet running ``container`` (ContainerArgs keywords without the shared ones)."""
        from pulumi_kubernetes.apps.v1 import (
            StatefulSet,
            StatefulSetInitArgs,
            StatefulSetPersistentVolumeClaimRetentionPolicyArgs,
            StatefulSetSpecArgs,
        )
        from pulumi_kubernetes.core.v1 import (
            ContainerArgs,
            ContainerPortArgs,
            EmptyDirVolumeSourceArgs,
            PersistentVolumeClaimArgs,
            PersistentVolumeClaimSpecArgs,
            PodSpecArgs,
            PodTemplateSpecArgs,
            SecretVolumeSourceArgs,
            VolumeArgs,
            VolumeMountArgs,
            VolumeResourceRequirementsArgs,
        )
        from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

        retention = "Retain" if args.retain_volumes else "Delete"
        mounts = [
            VolumeMountArgs(name="data", mount_path=data_mount),
            VolumeMountArgs(name="tls", mount_path="/tls", read_only=True),
            VolumeMountArgs(name="tmp", mount_path=objects.TMP_MOUNT),
            *container.get("volume_mounts", ()),
        ]
        server = ContainerArgs(
            **{k: v for k, v in container.items() if k != "volume_mounts"},
            name=self.component,
            image=args.image,
            image_pull_policy="Always",
            ports=[ContainerPortArgs(name=self.component, container_port=self.port)],
            security_context=objects.container_security_context(),
            resources=objects.resources("100m", f"{args.memory_mib}Mi", "1", f"{args.memory_mib}Mi"),
            volume_mounts=mounts,
        )
        spec = StatefulSetSpecArgs(
            service_name=self.headless,
            replicas=args.replicas,
            selector=LabelSelectorArgs(match_labels=dict(self.pods.labels)),
            persistent_volume_claim_retention_policy=StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                when_deleted=retention, when_scaled=retention
            ),
            template=PodTemplateSpecArgs(
                metadata=ObjectMetaArgs(labels={**args.tags, **self.pods.labels}),
                spec=PodSpecArgs(
                    automount_service_account_token=False,
                    enable_service_links=False,
                    security_context=objects.pod_security_context(),
                    containers=[server],
                    volumes=[
                        VolumeArgs(
                            name="tls", secret=SecretVolumeSourceArgs(secret_name=self.tls_secret, default_mode=0o440)
                        ),
                        VolumeArgs(name="tmp", empty_dir=EmptyDirVolumeSourceArgs(size_limit="64Mi")),
                        *volumes,
                    ],
                ),
            ),
            volume_claim_templates=[
                PersistentVolumeClaimArgs(
                    metadata=ObjectMetaArgs(name="data", labels=dict(args.tags)),
                    spec=PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=args.storage_class,
                        resources=VolumeResourceRequirementsArgs(requests={"storage": f"{args.volume_gib}Gi"}),
                    ),
                )
            ],
        )
        stateful_set = self.child(
            "statefulset",
            StatefulSet,
            StatefulSetInitArgs(metadata=meta(self.service_name, self.namespace), spec=spec),
            pulumi.ResourceOptions(depends_on=[self.certificate, *depends_on]),
            stateful=True,
        )
        if args.replicas > 1:
            self._disruption_budget()
            self.allow_from("replicas", self.pods)
        return stateful_set

    def _disruption_budget(self) -> None:
        from pulumi_kubernetes.meta.v1 import LabelSelectorArgs
        from pulumi_kubernetes.policy.v1 import (
            PodDisruptionBudget,
            PodDisruptionBudgetInitArgs,
            PodDisruptionBudgetSpecArgs,
        )

        self.child(
            "pdb",
            PodDisruptionBudget,
            PodDisruptionBudgetInitArgs(
                metadata=meta(self.service_name, self.namespace),
                spec=PodDisruptionBudgetSpecArgs(
                    max_unavailable=1, selector=LabelSelectorArgs(match_labels=dict(self.pods.labels))
                ),
            ),
        )

    def allow_from(self, key: str, pods: Pods) -> list[Any]:
        """Admit ``pods`` to the server's port, and let them out to it: a NetworkPolicy on each side."""
        from pulumi_kubernetes.networking.v1 import NetworkPolicy

        ingress = self.child(
            f"allow-{key}",
            NetworkPolicy,
            objects.network_policy_args(
                f"{self.service_name}-from-{key}",
                self.namespace,
                self.pods.labels,
                ingress_from=[pods.peer(self.namespace)],
                ingress_ports=[(self.port, "TCP")],
            ),
        )
        egress = self.child(
            f"allow-{key}-out",
            NetworkPolicy,
            objects.network_policy_args(
                f"{key}-to-{self.service_name}",
                pods.namespace,
                pods.labels,
                egress_to=[self.pods.peer(pods.namespace)],
                egress_ports=[(self.port, "TCP")],
            ),
        )
        return [ingress, egress]


def _secret_store(args: StoreArgs, argument: str, secret_name: pulumi.Input[str] | None) -> SecretStoreRef:
    """The store's SecretStore: the object, or its names (``issuer_name``, the Cache's ``secret_name``)."""
    if args.secret_store is not None:
        names = {"issuer_name": args.issuer_name, "secret_name": secret_name}
        given = " and ".join(key for key, value in names.items() if value is not None)
        if given:
            raise ValueError(f"{argument}: {given} given with secret_store: give the store or its names, not both")
        return args.secret_store.ref
    if args.issuer_name is None or args.issuer_name == "":
        raise ValueError(
            f"{argument}.secret_store: required, or issuer_name (its CA Issuer: the KubernetesSecretStore's "
            "issuerName output)"
        )
    return SecretStoreRef(
        namespace=args.namespace, secret_name=secret_name, issuer_name=args.issuer_name, labels=dict(args.tags)
    )
