"""ContainerService: an internal Container Apps environment (zone-redundant in prod, peer traffic
encrypted) and the app: user-assigned identity, image pulled with it, secrets only as Key Vault
references, HTTPS-only ingress open to the API Management subnet alone, and the seed's scale rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import validation
from components.azure.network import linked_zone
from components.base import Block, BlockArgs

_MEMORY_PER_CPU_GIB = 2.0


@dataclass(kw_only=True)
class ContainerServiceArgs(BlockArgs):
    """Inputs of :class:`ContainerService`. Child keys for ``transform``: ``environment``, ``zone``,
    ``link``, ``record``, ``app``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    subnet_id: pulumi.Input[str]
    """A /23 (or larger) subnet delegated to Microsoft.App/environments."""
    vnet_id: pulumi.Input[str]
    """Virtual network of the Container Apps environment (its private DNS zone links here)."""
    allowed_ingress_cidrs: Sequence[str]
    """The only addresses the app accepts requests from (API Management's subnet)."""
    zone_redundant: bool = True
    """Spread replicas over availability zones."""
    identity_id: pulumi.Input[str]
    """The app's user-assigned managed identity (registry pulls and data access)."""
    identity_client_id: pulumi.Input[str]
    """Client id of that identity (``AZURE_CLIENT_ID`` for the app)."""
    registry_server: pulumi.Input[str]
    """Login server of the container registry the image comes from."""
    image: str
    """The app's image pinned by digest."""
    port: int = 8000
    """Container port the app listens on."""
    cpu: float = 1.0
    """vCPUs per replica."""
    memory_gib: float = 2.0
    """Memory per replica, in GiB."""
    min_replicas: int = 2
    """Replicas kept running."""
    max_replicas: int = 20
    """Upper bound of autoscaling."""
    concurrent_requests: int = 50
    """In-flight requests per replica before another is added."""
    cpu_percent: int = 70
    """Average CPU utilisation that adds replicas."""
    health_path: str = "/health"
    """Liveness probe path."""
    ready_path: str = "/ready"
    """Readiness probe path."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain, non-secret environment variables."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Variable -> Key Vault secret URL (read with the identity; never a value)."""
    command: Sequence[str] = ()
    """Override of the image's command (the worker runs ``python -m app.worker``)."""
    wait_for: Sequence[pulumi.Resource] = ()
    """Grants the app needs at start (role assignments, data access): the app waits for them."""


class ContainerService(Block):
    """The app's runtime; reached only from API Management inside the VNet."""

    environment_id: pulumi.Output[str]
    """Id of the Container Apps environment."""
    app_id: pulumi.Output[str]
    """Id of the container app."""
    fqdn: pulumi.Output[str]
    """Internal FQDN of the container app."""

    def __init__(self, name: str, args: ContainerServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:ContainerService", name, args, opts)
        import pulumi_azure_native.app as app
        import pulumi_azure_native.privatedns as privatedns

        rg = args.resource_group_name
        environment = self.child(
            "environment",
            app.ManagedEnvironment,
            app.ManagedEnvironmentArgs(
                resource_group_name=rg,
                location=args.location,
                zone_redundant=args.zone_redundant,
                vnet_configuration=app.VnetConfigurationArgs(internal=True, infrastructure_subnet_id=args.subnet_id),
                workload_profiles=[app.WorkloadProfileArgs(name="Consumption", workload_profile_type="Consumption")],
                # logs go through a diagnostic setting (Observability.diagnose): no shared workspace key
                app_logs_configuration=app.AppLogsConfigurationArgs(destination="azure-monitor"),
                peer_traffic_configuration=app.ManagedEnvironmentPeerTrafficConfigurationArgs(
                    encryption=app.ManagedEnvironmentEncryptionArgs(enabled=True)
                ),
                public_network_access="Disabled",
            ),
            name="env",
        )
        # an internal environment's apps resolve only through a private zone for its default domain
        zone, link = linked_zone(self, environment.default_domain, rg, args.vnet_id)
        self.child(
            "record",
            privatedns.PrivateRecordSet,
            privatedns.PrivateRecordSetArgs(
                resource_group_name=rg,
                private_zone_name=zone.name,
                record_type="A",
                relative_record_set_name="*",
                ttl=300,
                a_records=[privatedns.ARecordArgs(ipv4_address=environment.static_ip)],
            ),
            pulumi.ResourceOptions(depends_on=[link]),
        )
        secret_names = {variable: secret_name(variable) for variable in args.secrets}
        container_app = self.child(
            "app",
            app.ContainerApp,
            app.ContainerAppArgs(
                resource_group_name=rg,
                location=args.location,
                managed_environment_id=environment.id,
                workload_profile_name="Consumption",
                identity=app.ManagedServiceIdentityArgs(
                    type="UserAssigned", user_assigned_identities=[args.identity_id]
                ),
                configuration=app.ConfigurationArgs(
                    active_revisions_mode="Single",
                    ingress=app.IngressArgs(
                        # in an internal environment "external" means reachable from the VNet
                        external=True,
                        target_port=args.port,
                        transport="http",
                        allow_insecure=False,
                        ip_security_restrictions=[
                            app.IpSecurityRestrictionRuleArgs(
                                name=f"allow-{i}", action="Allow", ip_address_range=cidr, description="API Management"
                            )
                            for i, cidr in enumerate(args.allowed_ingress_cidrs)
                        ],
                    ),
                    registries=[app.RegistryCredentialsArgs(server=args.registry_server, identity=args.identity_id)],
                    secrets=[
                        app.SecretArgs(name=secret_names[variable], key_vault_url=url, identity=args.identity_id)
                        for variable, url in args.secrets.items()
                    ],
                ),
                template=app.TemplateArgs(
                    containers=[
                        app.ContainerArgs(
                            name="api",
                            image=args.image,
                            command=list(args.command) or None,
                            resources=app.ContainerResourcesArgs(cpu=args.cpu, memory=f"{args.memory_gib}Gi"),
                            env=[
                                *(
                                    app.EnvironmentVarArgs(name=variable, value=value)
                                    for variable, value in args.environment.items()
                                ),
                                app.EnvironmentVarArgs(name="AZURE_CLIENT_ID", value=args.identity_client_id),
                                *(
                                    app.EnvironmentVarArgs(name=variable, secret_ref=secret_names[variable])
                                    for variable in args.secrets
                                ),
                            ],
                            probes=[
                                _probe("Liveness", args.health_path, args.port),
                                _probe("Readiness", args.ready_path, args.port),
                                _probe("Startup", args.health_path, args.port),
                            ],
                        )
                    ],
                    scale=app.ScaleArgs(
                        min_replicas=args.min_replicas,
                        max_replicas=args.max_replicas,
                        rules=[
                            app.ScaleRuleArgs(
                                name="http-concurrency",
                                http=app.HttpScaleRuleArgs(
                                    metadata={"concurrentRequests": str(args.concurrent_requests)}
                                ),
                            ),
                            app.ScaleRuleArgs(
                                name="cpu",
                                custom=app.CustomScaleRuleArgs(
                                    type="cpu", metadata={"type": "Utilization", "value": str(args.cpu_percent)}
                                ),
                            ),
                        ],
                    ),
                ),
            ),
            pulumi.ResourceOptions(depends_on=list(args.wait_for)),
            name="app",
        )
        self.environment = environment
        self.app = container_app
        self.environment_id = environment.id
        self.app_id = container_app.id
        self.fqdn = container_app.configuration.apply(
            lambda c: (c.ingress.fqdn if c is not None and c.ingress is not None else None) or ""
        )
        self.register_outputs({"environmentId": environment.id, "appId": container_app.id, "fqdn": self.fqdn})


def _probe(kind: str, path: str, port: int) -> Any:
    import pulumi_azure_native.app as app

    return app.ContainerAppProbeArgs(
        type=kind,
        http_get=app.ContainerAppProbeHttpGetArgs(path=path, port=port, scheme="HTTP"),
        period_seconds=10,
        timeout_seconds=5,
        failure_threshold=3 if kind != "Startup" else 30,
    )


def secret_name(variable: str) -> str:
    """A Container Apps secret name (lower-case letters, digits, hyphens) for an env variable."""
    return variable.lower().replace("_", "-")


def _validate(args: ContainerServiceArgs) -> None:
    problem = validation.digest_ref(args.image)
    if problem:
        raise ValueError(f"ContainerServiceArgs.image={args.image!r}: {problem}")
    if not 0 <= args.min_replicas <= args.max_replicas <= 1000:
        raise ValueError(
            f"ContainerServiceArgs.min_replicas={args.min_replicas}, max_replicas={args.max_replicas}: "
            "need 0 <= min_replicas <= max_replicas <= 1000"
        )
    if args.cpu not in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0):
        raise ValueError(f"ContainerServiceArgs.cpu={args.cpu}: allowed 0.25 to 2 in steps of 0.25, or 2.5 to 4 by 0.5")
    if args.memory_gib != args.cpu * _MEMORY_PER_CPU_GIB:
        raise ValueError(
            f"ContainerServiceArgs.memory_gib={args.memory_gib}: Consumption needs {_MEMORY_PER_CPU_GIB} GiB per vCPU "
            f"({args.cpu * _MEMORY_PER_CPU_GIB} for cpu={args.cpu})"
        )
    if not args.allowed_ingress_cidrs:
        raise ValueError("ContainerServiceArgs.allowed_ingress_cidrs is empty: name API Management's subnet")
    for name in [*args.environment, *args.secrets]:
        problem = validation.env_var_name(name)
        if problem:
            raise ValueError(f"ContainerServiceArgs.environment/secrets: {problem}")
    for name in args.environment:
        if validation.looks_secret(name):
            raise ValueError(
                f"ContainerServiceArgs.environment[{name!r}]: {validation.plain_env_var(name)}; pass it in secrets"
            )
    problem = validation.overlapping_env(args.environment, args.secrets)
    if problem:
        raise ValueError(f"ContainerServiceArgs: {problem}")
    for url in args.secrets.values():
        if isinstance(url, str) and not url.startswith("https://"):
            raise ValueError(f"ContainerServiceArgs.secrets: {url!r} is not a Key Vault secret URL")
