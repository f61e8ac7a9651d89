"""ContainerService (Kubernetes): the app as a Deployment with its ServiceAccount, ConfigMap,
ClusterIP Service, HorizontalPodAutoscaler, PodDisruptionBudget and NetworkPolicies.

Seed numbers: rolling updates that never drop below the replica count (``maxUnavailable`` 0,
``maxSurge`` 1), requests at half the limits (500m / 1Gi of 1000m / 2Gi), liveness on the
health path after 30 s, readiness on the ready path after 10 s, a startup probe for slow starts,
HPA on CPU (70 %), spread across zones and nodes. Every pod runs under the Pod Security
``restricted`` profile with a read-only root filesystem (``/tmp`` is an emptyDir) and no
service account token. Plain settings come from the ConfigMap (``envFrom``); secrets only as
``valueFrom.secretKeyRef`` (a plain value for a KEY/TOKEN/SECRET/PASSWORD name is refused).
The Service is ClusterIP: the edge (Ingress or Gateway) is the only way in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import validation
from components.base import BlockArgs
from components.kubernetes import objects
from components.kubernetes.objects import NamespacedBlock, Pods, meta
from components.kubernetes.spec import tagged_image

HTTPS = 443


@dataclass(frozen=True)
class MountedSecret:
    """A Secret's keys as read-only files (certificates the app reads by path)."""

    volume: str
    """Name of the pod volume."""
    secret_name: str
    """The Secret holding the files."""
    path: str
    """Directory the files are mounted at."""
    keys: tuple[str, ...]
    """The Secret's keys to mount, one file each."""


@dataclass(frozen=True)
class Role:
    """One Deployment of the app's image: the API, or the job worker (``python -m app.worker``)."""

    component: str
    replicas: int
    port: int
    health_path: str
    ready_path: str
    command: tuple[str, ...] = ()
    """Empty: the image's entrypoint (the API)."""


@dataclass(kw_only=True)
class ContainerServiceArgs(BlockArgs):
    namespace: str
    """The namespace the app runs in."""
    part_of: str
    """The ``app.kubernetes.io/part-of`` label value shared by the platform's objects."""
    image: str
    """The app's image pinned by digest (or by a tag other than latest, with ``image_tag``)."""
    image_tag: bool = False
    """The named dev opt-out kubernetes.insecure.imageTag: ``image`` may be a tag."""
    writable_root_filesystem: bool = False
    """The named opt-out kubernetes.insecure.writableRootFilesystem: the containers' root is writable."""
    port: int = 8000
    """Container port the app listens on."""
    replicas: int = 3
    """Replicas when idle (the HPA's minimum; the PodDisruptionBudget keeps one less available)."""
    max_replicas: int = 20
    """Upper bound of the HorizontalPodAutoscaler."""
    cpu_target_percent: int = 70
    """Average CPU utilisation the HorizontalPodAutoscaler aims for."""
    cpu: float = 1.0
    """The CPU limit in cores (the request is half)."""
    memory_mib: int = 2048
    """The memory limit (the request is half)."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain settings (the ConfigMap); a secret-looking name is refused."""
    secrets: Mapping[str, Any] = field(default_factory=dict)
    """Variable -> ``EnvVarSourceArgs`` (a secretKeyRef, from SecretStore.reference)."""
    files: Sequence[MountedSecret] = ()
    """Secrets' keys mounted as read-only files (certificates the app reads by path)."""
    health_path: str = "/health"
    """Liveness probe path."""
    ready_path: str = "/ready"
    """Readiness probe path."""
    timeout_seconds: int = 300
    """The longest request: the grace period on shutdown covers it."""
    edge: Pods | None = None
    """The ingress controller's or gateway's pods, admitted to the port."""
    monitoring: Pods | None = None
    """Prometheus' pods, admitted to the port for scraping."""
    egress_cidrs: Sequence[str] = ()
    """Where the app may go on 443 (the LLM providers)."""
    egress_anywhere: bool = False
    """Any public address on 443, as a named choice (providers' addresses change); private and
    link-local ranges stay closed."""
    data_egress: Sequence[tuple[str, int]] = ()
    """(CIDR, port) of data services outside the cluster the app and worker reach (an external Redis)."""
    worker_replicas: int = 0
    """Replicas of the job worker (same image and settings, ``python -m app.worker``); 0: none."""
    worker_metrics_port: int = 9100
    """The worker's Prometheus endpoint (``APP_WORKER_METRICS_PORT``), also its probes' target."""


class ContainerService(NamespacedBlock):
    """The app (child keys: ``service-account``, ``config``, ``deployment``, ``service``, ``hpa``, ``pdb``,
    ``allow-edge``, ``allow-egress``; with a worker ``worker``, ``worker-pdb``, ``worker-allow-edge``,
    ``worker-allow-egress``; ``allow-data-<i>``, ``worker-allow-data-<i>`` for data_egress)."""

    service_name: str
    """Name of the app's Service."""
    port: int
    """Port of the app's Service."""

    def __init__(self, name: str, args: ContainerServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:kubernetes:ContainerService", name, args, opts)
        from pulumi_kubernetes.apps.v1 import Deployment, DeploymentInitArgs
        from pulumi_kubernetes.core.v1 import (
            ConfigMap,
            ConfigMapInitArgs,
            Service,
            ServiceAccount,
            ServiceAccountInitArgs,
            ServiceInitArgs,
            ServicePortArgs,
            ServiceSpecArgs,
        )

        self.namespace = args.namespace
        self.pods = Pods(args.namespace, objects.component_labels(args.part_of, "api"))
        self.service_name = name
        self.port = args.port
        self.service_account = self.child(
            "service-account",
            ServiceAccount,
            ServiceAccountInitArgs(metadata=meta(name, args.namespace), automount_service_account_token=False),
        )
        environment = {key: pulumi.Output.from_input(value) for key, value in args.environment.items()}
        config = self.child(
            "config",
            ConfigMap,
            ConfigMapInitArgs(metadata=meta(f"{name}-env", args.namespace), data=environment),
        )
        checksum = pulumi.Output.all(**environment).apply(
            lambda values: hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        )
        api = Role("api", args.replicas, args.port, args.health_path, args.ready_path)
        self.deployment = self.child(
            "deployment",
            Deployment,
            DeploymentInitArgs(
                metadata=meta(name, args.namespace), spec=self._deployment_spec(name, args, checksum, api)
            ),
            pulumi.ResourceOptions(depends_on=[config, self.service_account]),
        )
        self.worker: Any = None
        self.worker_pods: Pods | None = None
        if args.worker_replicas:
            worker = Role(
                "worker",
                args.worker_replicas,
                args.worker_metrics_port,
                "/metrics",
                "/metrics",
                ("python", "-m", "app.worker"),
            )
            self.worker_pods = Pods(args.namespace, objects.component_labels(args.part_of, "worker"))
            self.worker = self.child(
                "worker",
                Deployment,
                DeploymentInitArgs(
                    metadata=meta(f"{name}-worker", args.namespace),
                    spec=self._deployment_spec(name, args, checksum, worker),
                ),
                pulumi.ResourceOptions(depends_on=[config, self.service_account]),
            )
        self.service = self.child(
            "service",
            Service,
            ServiceInitArgs(
                metadata=meta(name, args.namespace, self.pods.labels),
                spec=ServiceSpecArgs(
                    type="ClusterIP",
                    selector=dict(self.pods.labels),
                    ports=[ServicePortArgs(name="http", port=args.port, target_port="http", protocol="TCP")],
                ),
            ),
        )
        self._scaling(name, args)
        self._network_policies(name, args)
        self.register_outputs({"serviceName": self.service_name, "port": self.port})

    def _deployment_spec(self, name: str, args: ContainerServiceArgs, checksum: pulumi.Output[str], role: Role) -> Any:
        from pulumi_kubernetes.apps.v1 import DeploymentSpecArgs, DeploymentStrategyArgs, RollingUpdateDeploymentArgs
        from pulumi_kubernetes.core.v1 import (
            ConfigMapEnvSourceArgs,
            ContainerArgs,
            ContainerPortArgs,
            EmptyDirVolumeSourceArgs,
            EnvFromSourceArgs,
            EnvVarArgs,
            HTTPGetActionArgs,
            KeyToPathArgs,
            PodSpecArgs,
            PodTemplateSpecArgs,
            ProbeArgs,
            SecretVolumeSourceArgs,
            TopologySpreadConstraintArgs,
            VolumeArgs,
            VolumeMountArgs,
        )
        from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

        labels = objects.component_labels(args.part_of, role.component)
        selector = LabelSelectorArgs(match_labels=labels)
        spread = [
            TopologySpreadConstraintArgs(
                max_skew=1, topology_key=key, when_unsatisfiable="ScheduleAnyway", label_selector=selector
            )
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
        cpu_millis = int(args.cpu * 1000)
        container = ContainerArgs(
            name=role.component,
            image=args.image,
            image_pull_policy="Always",
            command=list(role.command) or None,
            ports=[ContainerPortArgs(name="http", container_port=role.port, protocol="TCP")],
            env_from=[EnvFromSourceArgs(config_map_ref=ConfigMapEnvSourceArgs(name=f"{name}-env"))],
            env=[EnvVarArgs(name=variable, value_from=source) for variable, source in sorted(args.secrets.items())],
            resources=objects.resources(
                f"{cpu_millis // 2}m", f"{args.memory_mib // 2}Mi", f"{cpu_millis}m", f"{args.memory_mib}Mi"
            ),
            startup_probe=ProbeArgs(
                http_get=HTTPGetActionArgs(path=role.health_path, port="http"), period_seconds=5, failure_threshold=30
            ),
            liveness_probe=ProbeArgs(
                http_get=HTTPGetActionArgs(path=role.health_path, port="http"),
                initial_delay_seconds=30,
                period_seconds=10,
                timeout_seconds=3,
                failure_threshold=3,
            ),
            readiness_probe=ProbeArgs(
                http_get=HTTPGetActionArgs(path=role.ready_path, port="http"),
                initial_delay_seconds=10,
                period_seconds=5,
                timeout_seconds=3,
                failure_threshold=3,
            ),
            security_context=objects.container_security_context(writable_root=args.writable_root_filesystem),
            volume_mounts=[
                VolumeMountArgs(name="tmp", mount_path=objects.TMP_MOUNT),
                *(VolumeMountArgs(name=f.volume, mount_path=f.path, read_only=True) for f in args.files),
            ],
        )
        volumes = [
            VolumeArgs(name="tmp", empty_dir=EmptyDirVolumeSourceArgs(size_limit="256Mi")),
            *(
                VolumeArgs(
                    name=f.volume,
                    secret=SecretVolumeSourceArgs(
                        secret_name=f.secret_name,
                        default_mode=0o440,
                        items=[KeyToPathArgs(key=key, path=key) for key in f.keys],
                    ),
                )
                for f in args.files
            ),
        ]
        return DeploymentSpecArgs(
            replicas=role.replicas,
            selector=selector,
            strategy=DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
            ),
            template=PodTemplateSpecArgs(
                metadata=ObjectMetaArgs(
                    labels={**args.tags, **labels},
                    annotations={
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(role.port),
                        "prometheus.io/path": "/metrics",
                        "ai-platform/config-sha256": checksum,
                    },
                ),
                spec=PodSpecArgs(
                    service_account_name=name,
                    automount_service_account_token=False,
                    enable_service_links=False,
                    security_context=objects.pod_security_context(),
                    termination_grace_period_seconds=args.timeout_seconds + 30,
                    topology_spread_constraints=spread,
                    containers=[container],
                    volumes=volumes,
                ),
            ),
        )

    def _scaling(self, name: str, args: ContainerServiceArgs) -> None:
        from pulumi_kubernetes.autoscaling.v2 import (
            CrossVersionObjectReferenceArgs,
            HorizontalPodAutoscaler,
            HorizontalPodAutoscalerInitArgs,
            HorizontalPodAutoscalerSpecArgs,
            MetricSpecArgs,
            MetricTargetArgs,
            ResourceMetricSourceArgs,
        )
        from pulumi_kubernetes.meta.v1 import LabelSelectorArgs
        from pulumi_kubernetes.policy.v1 import (
            PodDisruptionBudget,
            PodDisruptionBudgetInitArgs,
            PodDisruptionBudgetSpecArgs,
        )

        self.hpa = self.child(
            "hpa",
            HorizontalPodAutoscaler,
            HorizontalPodAutoscalerInitArgs(
                metadata=meta(name, args.namespace),
                spec=HorizontalPodAutoscalerSpecArgs(
                    scale_target_ref=CrossVersionObjectReferenceArgs(
                        api_version="apps/v1", kind="Deployment", name=name
                    ),
                    min_replicas=args.replicas,
                    max_replicas=args.max_replicas,
                    metrics=[
                        MetricSpecArgs(
                            type="Resource",
                            resource=ResourceMetricSourceArgs(
                                name="cpu",
                                target=MetricTargetArgs(
                                    type="Utilization", average_utilization=args.cpu_target_percent
                                ),
                            ),
                        )
                    ],
                ),
            ),
            pulumi.ResourceOptions(depends_on=[self.deployment]),
        )
        for key, suffix, pods in (("pdb", "", self.pods), ("worker-pdb", "-worker", self.worker_pods)):
            if pods is not None:
                self.child(
                    key,
                    PodDisruptionBudget,
                    PodDisruptionBudgetInitArgs(
                        metadata=meta(f"{name}{suffix}", args.namespace),
                        spec=PodDisruptionBudgetSpecArgs(
                            max_unavailable=1, selector=LabelSelectorArgs(match_labels=dict(pods.labels))
                        ),
                    ),
                )

    def _network_policies(self, name: str, args: ContainerServiceArgs) -> None:
        """Per role: who may come in (the edge and Prometheus to the API, Prometheus to the worker's
        metrics) and the way out on 443."""
        from pulumi_kubernetes.networking.v1 import NetworkPolicy

        roles = [("", self.pods, [args.edge, args.monitoring], args.port)]
        if self.worker_pods is not None:
            roles.append(("worker-", self.worker_pods, [args.monitoring], args.worker_metrics_port))
        cidrs = [objects.ANYWHERE] if args.egress_anywhere else list(args.egress_cidrs)
        for prefix, pods, allowed, port in roles:
            sources = [p.peer(args.namespace) for p in allowed if p is not None]
            if sources:
                self.child(
                    f"{prefix}allow-edge",
                    NetworkPolicy,
                    objects.network_policy_args(
                        f"{name}-{prefix}from-edge",
                        args.namespace,
                        pods.labels,
                        ingress_from=sources,
                        ingress_ports=[(port, "TCP")],
                    ),
                )
            for index, (cidr, data_port) in enumerate(args.data_egress):
                self.child(
                    f"{prefix}allow-data-{index}",
                    NetworkPolicy,
                    objects.network_policy_args(
                        f"{name}-{prefix}to-data-{index}",
                        args.namespace,
                        pods.labels,
                        egress_cidrs=[cidr],
                        egress_ports=[(data_port, "TCP")],
                    ),
                )
            if cidrs:
                self.child(
                    f"{prefix}allow-egress",
                    NetworkPolicy,
                    objects.network_policy_args(
                        f"{name}-{prefix}to-llm-providers",
                        args.namespace,
                        pods.labels,
                        egress_cidrs=cidrs,
                        egress_ports=[(HTTPS, "TCP")],
                    ),
                )


def _validate(args: ContainerServiceArgs) -> None:
    """Each argument checked up front, with one-line errors naming it."""
    problem = validation.digest_ref(args.image)
    if problem and args.image_tag:
        problem = tagged_image(args.image)
    if problem:
        raise ValueError(f"ContainerServiceArgs.image {args.image!r}: {problem}")
    for variable in args.environment:
        problem = validation.plain_env_var(variable)
        if problem:
            raise ValueError(f"ContainerServiceArgs.environment: {problem}")
    clash = validation.overlapping_env(args.environment, args.secrets)
    if clash:
        raise ValueError(f"ContainerServiceArgs: {clash}")
    if not 1 <= args.replicas <= args.max_replicas:
        raise ValueError(
            f"ContainerServiceArgs.replicas {args.replicas}: must be 1 to max_replicas ({args.max_replicas})"
        )
    if not 1024 <= args.port <= 65535:
        raise ValueError(f"ContainerServiceArgs.port {args.port}: must be 1024-65535 (the pod runs without privileges)")
    if args.cpu <= 0 or args.memory_mib < 128:
        raise ValueError(f"ContainerServiceArgs.cpu/memory_mib {args.cpu}/{args.memory_mib}: must be > 0 / >= 128")
    if not 0 <= args.worker_replicas <= 100:
        raise ValueError(f"ContainerServiceArgs.worker_replicas {args.worker_replicas}: must be 0 to 100")
    if args.egress_cidrs and args.egress_anywhere:
        raise ValueError("ContainerServiceArgs.egress_anywhere: set it or egress_cidrs, not both")
