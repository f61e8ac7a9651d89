"""AiPlatform (Kubernetes): the whole architecture in one namespace of any conformant cluster.

Wiring only: tags, policy facts and the app's settings come from the shared decisions; this file
connects the Kubernetes blocks. Every object goes through one ``pulumi_kubernetes.Provider``
(the kubeconfig from the ``kubernetes:kubeconfig`` config or the ambient one, and the spec's
context), so a stack never touches a cluster it did not name.

Order: the namespace and its default deny first (every namespaced object waits for them), then
the secrets and the private CA, the data stores, the app, the stores' admissions of the app, the
edge and the monitoring objects. Prerequisites in the cluster: cert-manager (private CA, and
the edge certificate with a ClusterIssuer), an ingress controller or a Gateway API
implementation, and the Prometheus Operator CRDs (unless ``prometheusOperator: false``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from components.base import PlatformBlock
from components.decisions import (
    CacheEndpoint,
    DatabaseEndpoint,
    ExternalDatabase,
    QueueEndpoint,
    app_environment,
)
from components.kubernetes.cache import Cache, CacheArgs
from components.kubernetes.container_service import ContainerService, ContainerServiceArgs, MountedSecret
from components.kubernetes.gateway import Gateway, GatewayArgs
from components.kubernetes.network import Network, NetworkArgs
from components.kubernetes.objects import Pods
from components.kubernetes.observability import Observability, ObservabilityArgs
from components.kubernetes.secrets import SecretStore, SecretStoreArgs
from components.kubernetes.spec import KubernetesSpec, placeholder_images, replicas
from components.kubernetes.vector_store import VectorStore, VectorStoreArgs
from components.spec import PlatformSpec, SpecError

PART_OF = "ai-api"
#: where the app finds the certificates it verifies servers with (and its database client certificate)
CERTS = "/var/run/ai-platform"
QUEUE_STREAM = "ai-jobs"
QUEUE_DEAD_LETTER = "ai-jobs-dead"


def real_engine() -> bool:
    """Whether a Pulumi engine runs the program (preview or up), not the offline plan's mock runtime,
    which plans the shipped stack files with their placeholder digests."""
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_monitor

    return not isinstance(get_monitor(), MockMonitor)


class AiPlatform(PlatformBlock):
    """The production AI API on Kubernetes, as the stack's :class:`PlatformSpec` describes it."""

    def __init__(
        self,
        name: str,
        spec: PlatformSpec,
        secrets: Mapping[str, pulumi.Input[str]],
        *,
        project_root: Path,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        import pulumi_kubernetes

        if spec.environment == "prod" and real_engine():
            problems = placeholder_images(spec)
            if problems:
                raise SpecError(problems)
        super().__init__(name, spec, opts)
        stack, tags = self.stack, self.tags
        section = spec.section(KubernetesSpec)
        self.provider = pulumi_kubernetes.Provider(
            f"{name}-cluster",
            context=section.context,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        namespace = section.namespace
        protect = spec.protect_stateful
        retain = spec.environment == "prod"
        self.network = Network(
            f"{name}-network",
            NetworkArgs(tags=tags, namespace=namespace, pod_security_version=section.pod_security_version),
            pulumi.ResourceOptions(parent=self, providers=[self.provider]),
        )
        child = pulumi.ResourceOptions(parent=self, providers=[self.provider], depends_on=self.network.ready)

        self.secret_store = SecretStore(
            f"{name}-secrets",
            SecretStoreArgs(tags=tags, protect=protect, namespace=namespace, secrets=dict(secrets)),
            child,
        )
        after_secrets = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[*self.network.ready, self.secret_store])
        )
        store = {
            "tags": tags,
            "protect": protect,
            "namespace": namespace,
            "part_of": PART_OF,
            "secret_store": self.secret_store,
            "storage_class": section.storage_class,
            "volume_gib": section.volume_gib,
            "retain_volumes": retain,
        }
        self.cache: Cache | None = None
        external = section.external_cache if spec.cache.enabled else None
        if spec.cache.enabled and external is None:
            assert section.redis_image is not None  # the spec requires it with the cache
            self.cache = Cache(
                f"{name}-redis",
                CacheArgs(
                    **store,
                    image=section.redis_image,
                    replicas=2 if spec.cache_high_availability else 1,
                    primary=section.redis_primary,
                    auth_token=secrets[spec.cache.auth_token_key],
                    auth_token_key=spec.cache.auth_token_key,
                ),
                after_secrets,
            )
        self.vector_store: VectorStore | None = None
        external_db = section.external_vector_store if spec.vector_store.enabled else None
        if spec.vector_store.enabled and external_db is None:
            assert section.postgres_image is not None  # the spec requires it with the vector store
            self.vector_store = VectorStore(
                f"{name}-postgres", VectorStoreArgs(**store, image=section.postgres_image), after_secrets
            )

        files: list[MountedSecret] = []
        cache_endpoint = database_endpoint = queue_endpoint = None
        if self.cache is not None:
            files.append(MountedSecret("redis-ca", self.cache.tls_secret, f"{CERTS}/redis", ("ca.crt",)))
            cache_endpoint = CacheEndpoint(
                self.cache.host, self.cache.port, spec.cache.auth_token_key, ca_file=f"{CERTS}/redis/ca.crt"
            )
        elif external is not None:
            cache_endpoint = CacheEndpoint(external.host, external.port, spec.cache.auth_token_key)
        if cache_endpoint is not None and spec.queue.enabled:
            queue_endpoint = QueueEndpoint("redis", QUEUE_STREAM, dead_letter_url=QUEUE_DEAD_LETTER)
        if self.vector_store is not None:
            path = f"{CERTS}/database"
            files.append(
                MountedSecret(
                    "database-client", self.vector_store.client_secret, path, ("ca.crt", "tls.crt", "tls.key")
                )
            )
            database_endpoint = DatabaseEndpoint(
                self.vector_store.host,
                self.vector_store.port,
                self.vector_store.database,
                auth="certificate",
                ca_file=f"{path}/ca.crt",
                client_certificate=(f"{path}/tls.crt", f"{path}/tls.key"),
            )
        elif external_db is not None:
            database_endpoint = ExternalDatabase(external_db.url_key)
        contract = app_environment(spec, stack, cache=cache_endpoint, database=database_endpoint, queue=queue_endpoint)
        edge = Pods(section.edge.namespace, section.edge.pod_labels)
        monitoring = (
            Pods(section.monitoring_namespace, {"app.kubernetes.io/name": "prometheus"})
            if section.prometheus_operator
            else None
        )
        stores = [s for s in (self.cache, self.vector_store) if s is not None]
        self.service = ContainerService(
            f"{name}-api",
            ContainerServiceArgs(
                tags=tags,
                namespace=namespace,
                part_of=PART_OF,
                image=section.image or str(spec.app.image.digest),
                image_tag=section.insecure.image_tag,
                writable_root_filesystem=section.insecure.writable_root_filesystem,
                port=spec.app.port,
                replicas=replicas(spec),
                max_replicas=spec.app.max_replicas,
                cpu_target_percent=spec.app.scaling.cpu_percent,
                cpu=spec.app.cpu,
                memory_mib=spec.app.memory_mib,
                environment=contract.environment,
                secrets={variable: self.secret_store.reference(key) for variable, key in contract.secrets.items()},
                files=files,
                health_path=spec.app.health_path,
                ready_path=spec.app.ready_path,
                timeout_seconds=spec.app.timeout_seconds,
                edge=edge,
                monitoring=monitoring,
                egress_cidrs=list(section.llm_egress_cidrs),
                egress_anywhere=section.llm_egress_anywhere,
                data_egress=[
                    *([] if external is None else [(external.cidr, external.port)]),
                    *([] if external_db is None else [(external_db.cidr, external_db.port)]),
                ],
                worker_replicas=(max(2, replicas(spec) // 2) if spec.environment == "prod" else 1)
                if queue_endpoint is not None
                else 0,
            ),
            pulumi.ResourceOptions.merge(after_secrets, pulumi.ResourceOptions(depends_on=stores)),
        )
        for data_store in (self.cache, self.vector_store):
            if data_store is not None:
                data_store.allow_from("api", self.service.pods)
                if self.service.worker_pods is not None:
                    data_store.allow_from("worker", self.service.worker_pods)

        tls = section.tls
        self.gateway = Gateway(
            f"{name}-edge",
            GatewayArgs(
                tags=tags,
                namespace=namespace,
                domain=spec.gateway.domain,
                service_name=self.service.service_name,
                service_port=spec.app.port,
                kind=section.edge.kind,
                class_name=section.edge.class_name,
                cluster_issuer=tls.cluster_issuer,
                tls_secret_name=tls.secret_name,
                # the spec counts per 5 minutes (the cloud WAFs' window); the edge limits per minute
                rate_limit_per_minute=max(1, spec.gateway.rate_limit_per_ip // 5),
                max_body_bytes=spec.gateway.max_body_bytes,
                timeout_seconds=spec.app.timeout_seconds,
                ip_allowlist=list(spec.gateway.ip_allowlist),
            ),
            child,
        )
        self.observability: Observability | None = None
        if section.prometheus_operator:
            alerts = spec.observability.alerts
            self.observability = Observability(
                f"{name}-monitoring",
                ObservabilityArgs(
                    tags=tags,
                    namespace=namespace,
                    app=self.service.pods,
                    latency_p95_threshold_seconds=alerts.latency_p95_seconds,
                    error_rate_threshold_percent=alerts.error_rate_percent,
                    cpu_threshold_percent=alerts.cpu_percent,
                    deployment_name=self.service.service_name,
                ),
                child,
            )
        self.external_cache_host = None if external is None else external.host
        self.url = self.gateway.url
        self.register_exports()

    def exports(self) -> dict[str, Any]:
        """The stack outputs: the endpoint and the names an operator needs."""
        outputs: dict[str, Any] = {
            "url": self.gateway.url,
            "namespace": self.network.namespace_name,
            "serviceName": self.service.service_name,
            "secretName": self.secret_store.secret_name,
        }
        if self.cache is not None or self.external_cache_host is not None:
            outputs["cacheEndpoint"] = self.cache.host if self.cache is not None else self.external_cache_host
        if self.vector_store is not None:
            outputs["vectorStoreEndpoint"] = self.vector_store.host
        return outputs
