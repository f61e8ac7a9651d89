"""ContainerService: the API on Cloud Run v2, reachable only through the load balancer.

* ``ingress=INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER``: the ``run.app`` URL refuses the internet,
  so every request passes the load balancer and its Cloud Armor policy.
* Invocation: ``invoker_iam_disabled=True`` (no ``allUsers`` invoker binding). A serverless NEG
  forwards requests without an identity token, so the invoker check must be off for the load
  balancer path; the ingress setting above is what keeps everyone else out. This is Google's
  documented pattern and avoids a public IAM member that policy scanners flag.
* Its own service account (the ``Identity`` block); the service waits for every binding it needs.
* Direct VPC egress (``network_interfaces``, ``PRIVATE_RANGES_ONLY``) to reach Memorystore and
  Cloud SQL; the image pinned by digest; a startup probe on the ready path, liveness on /health.
* Secrets only as ``value_source.secret_key_ref``; a plain value for a secret-looking name is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp.cloudrunv2 as cloudrunv2

from components import validation
from components.base import Block
from components.gcp.apis import GcpArgs, after

PRIVATE_INGRESS = ("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "INGRESS_TRAFFIC_INTERNAL_ONLY")
#: the ``run.app`` URL open to the internet: only through the dev opt-out ``gcp.insecure.publicIngress``
PUBLIC_INGRESS = "INGRESS_TRAFFIC_ALL"
_TIMEOUT_LIMIT = 3600
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(kw_only=True)
class ContainerServiceArgs(GcpArgs):
    """Inputs of :class:`ContainerService`. Child keys for ``transform``: ``service``."""

    region: str
    """Region of the Cloud Run service."""
    image: pulumi.Input[str]
    """Pinned by digest (``...@sha256:<64 hex>``)."""
    service_account_email: pulumi.Input[str]
    """The app's service account, which the service runs as (its grants are the app's access)."""
    network_id: pulumi.Input[str]
    """VPC network the service reaches private resources through (Direct VPC egress)."""
    subnetwork_id: pulumi.Input[str]
    """Subnetwork of the service's Direct VPC egress."""
    bindings: Sequence[pulumi.Resource] = ()
    """IAM bindings (roles, secret access, database user): the service is created after them."""
    ingress: str = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    """INGRESS_TRAFFIC_ALL only through the dev opt-out ``gcp.insecure.publicIngress``: callers of the
    ``run.app`` URL then bypass Cloud Armor (the app still asks for an API key)."""
    port: int = 8000
    """Container port the app listens on."""
    cpu: float = 1.0
    """vCPUs per instance."""
    memory: str = "1Gi"
    """Memory per instance, in Kubernetes quantity form (``1Gi``)."""
    min_instances: int = 1
    """Instances kept warm (at least 1: no cold start for the API)."""
    max_instances: int = 100
    """Upper bound of autoscaling."""
    concurrency: int = 80
    """Requests one instance serves at once before Cloud Run adds another."""
    timeout_seconds: int = 300
    """Longest request, streaming included."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain, non-secret environment variables."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Variable -> Secret Manager secret id (read at start-up, version ``latest``)."""
    health_path: str = "/health"
    """Liveness probe path."""
    ready_path: str = "/ready"
    """Startup (readiness) probe path."""
    deletion_protection: bool = True
    """Refuse to delete the service (turn off to destroy it)."""


def _validate(args: ContainerServiceArgs) -> None:
    if args.ingress not in (*PRIVATE_INGRESS, PUBLIC_INGRESS):
        raise ValueError(
            f"ContainerServiceArgs.ingress={args.ingress!r}: allowed {', '.join(PRIVATE_INGRESS)} "
            f"(or {PUBLIC_INGRESS} through the dev opt-out gcp.insecure.publicIngress, which bypasses Cloud Armor)"
        )
    if isinstance(args.image, str) and not _DIGEST.search(args.image):
        raise ValueError(f"ContainerServiceArgs.image={args.image!r}: pin it by digest (<image>@sha256:<64 hex>)")
    if not 1 <= args.min_instances <= args.max_instances <= 1000:
        raise ValueError(
            f"ContainerServiceArgs.min_instances={args.min_instances}, max_instances={args.max_instances}: "
            "need 1 <= min <= max <= 1000 (min 0 would cold-start the API)"
        )
    if not 1 <= args.concurrency <= 1000:
        raise ValueError(f"ContainerServiceArgs.concurrency={args.concurrency}: Cloud Run allows 1-1000")
    if not 1 <= args.timeout_seconds <= _TIMEOUT_LIMIT:
        raise ValueError(f"ContainerServiceArgs.timeout_seconds={args.timeout_seconds}: must be 1-{_TIMEOUT_LIMIT}")
    for name in args.environment:
        problem = validation.plain_env_var(name)
        if problem:
            raise ValueError(f"ContainerServiceArgs.environment: {problem}")
    problem = validation.overlapping_env(args.environment, args.secrets)
    if problem:
        raise ValueError(f"ContainerServiceArgs: {problem}")


class ContainerService(Block):
    service_name: pulumi.Output[str]
    """Name of the Cloud Run service."""
    uri: pulumi.Output[str]
    """The service's own run.app URI (reachable only through the load balancer)."""

    def __init__(self, name: str, args: ContainerServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:gcp:ContainerService", name, args, opts)
        envs = [cloudrunv2.ServiceTemplateContainerEnvArgs(name=k, value=v) for k, v in args.environment.items()]
        envs += [
            cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=variable,
                value_source=cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                        secret=secret, version="latest"
                    )
                ),
            )
            for variable, secret in args.secrets.items()
        ]
        container = cloudrunv2.ServiceTemplateContainerArgs(
            name="api",
            image=args.image,
            ports=cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=args.port),
            # CPU stays allocated between requests (instance-based billing): the app works after it
            # answers (limit settlements, batched logs, conversation summaries, trace export), which
            # request-based billing would throttle; the estimate prices it so (components/gcp/cost.py)
            resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(
                limits={"cpu": f"{args.cpu:g}", "memory": args.memory}, startup_cpu_boost=True, cpu_idle=False
            ),
            envs=envs,
            startup_probe=cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                http_get=cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(path=args.ready_path),
                initial_delay_seconds=5,
                period_seconds=5,
                failure_threshold=24,
                timeout_seconds=3,
            ),
            liveness_probe=cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
                http_get=cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(path=args.health_path),
                period_seconds=15,
                failure_threshold=3,
                timeout_seconds=3,
            ),
        )
        service = self.child(
            "service",
            cloudrunv2.Service,
            cloudrunv2.ServiceArgs(
                project=args.project,
                location=args.region,
                ingress=args.ingress,
                invoker_iam_disabled=True,
                deletion_protection=args.deletion_protection,
                template=cloudrunv2.ServiceTemplateArgs(
                    service_account=args.service_account_email,
                    max_instance_request_concurrency=args.concurrency,
                    timeout=f"{args.timeout_seconds}s",
                    scaling=cloudrunv2.ServiceTemplateScalingArgs(
                        min_instance_count=args.min_instances, max_instance_count=args.max_instances
                    ),
                    vpc_access=cloudrunv2.ServiceTemplateVpcAccessArgs(
                        network_interfaces=[
                            cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                                network=args.network_id, subnetwork=args.subnetwork_id
                            )
                        ],
                        egress="PRIVATE_RANGES_ONLY",
                    ),
                    containers=[container],
                ),
            ),
            after(args, *args.bindings),
            name="run",
        )
        self.service_name = service.name
        self.uri = service.uri
        self.register_outputs({"serviceName": self.service_name, "uri": self.uri})
