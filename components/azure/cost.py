"""What each Azure resource type of the platform costs a month (the engine: components/cost).

Prices are in ``prices.json`` beside this file (westeurope, pay-as-you-go list prices, free
grants not deducted). A SKU the table has no price for is listed as not priced, naming the
missing entry. Adding a type: one entry in ``prices.json`` and one formula in ``PRICED`` (or
one line in ``FREE``/``NOT_PRICED``).
"""

from __future__ import annotations

from pathlib import Path

from components.cost import GB, HOURS_PER_MONTH, Charge, Context, compute_hours, request_charge
from components.cost.quantities import gib
from components.testing import GraphResource

PRICES = Path(__file__).with_name("prices.json")
#: this target's own components -> the block they bill to
BLOCKS = {"ApiManagement": "gateway", "Ai": "LLM (model APIs)", "Identity": "secrets"}

H = HOURS_PER_MONTH


def _sku(r: GraphResource) -> str:
    return str((r.inputs.get("sku") or {}).get("name"))


def container_app(r: GraphResource, ctx: Context) -> list[Charge]:
    template = r.inputs.get("template") or {}
    replicas = int((template.get("scale") or {}).get("minReplicas") or 0)
    containers = template.get("containers") or []
    cores = sum(float((c.get("resources") or {}).get("cpu", 0)) for c in containers)
    memory = sum(gib((c.get("resources") or {}).get("memory", "0Gi")) for c in containers)
    charges = compute_hours(replicas, cores, memory, ("aca-vcpu-hour", "aca-gib-hour"), "minimum replicas")
    return [*charges, request_charge(r, ctx, "aca-requests-million")]


def api_management(r: GraphResource, ctx: Context) -> list[Charge]:
    units = int((r.inputs.get("sku") or {}).get("capacity") or 1)
    return [Charge(f"{_sku(r)} units x {units}", units * H, f"apim-{_sku(r).lower()}-unit-hour")]


def application_gateway(r: GraphResource, ctx: Context) -> list[Charge]:
    """The v2 SKU's fixed hours, plus the capacity units its minimum instance count reserves: each
    instance reserves 10, billed while the gateway runs whatever the load (Azure's "Understanding
    pricing for Application Gateway and WAF", instance count)."""
    minimum = int((r.inputs.get("autoscaleConfiguration") or {}).get("minCapacity") or 0)
    sku = _sku(r).lower()
    return [
        Charge("gateway hours", H, f"appgw-{sku}-hour"),
        Charge(
            f"capacity unit hours ({minimum} minimum instance(s) x 10 reserved)",
            minimum * 10 * H,
            f"appgw-{sku}-capacity-unit-hour",
        ),
    ]


def nat_gateway(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "gbProcessed", ctx.edge_gb, "model API traffic")
    return [Charge("gateway hours", H, "nat-gateway-hour"), Charge("data processed", gb, "nat-gateway-gb", why)]


def public_ip(r: GraphResource, ctx: Context) -> list[Charge]:
    return [Charge(f"{_sku(r)} static IPv4 hours", H, f"public-ip-{_sku(r).lower()}-hour")]


def private_endpoint(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "gbProcessed", 1.0, "stated default: 1 GB a month")
    return [
        Charge("endpoint hours", H, "private-endpoint-hour"),
        Charge("data processed", gb, "private-endpoint-gb", why),
    ]


def private_zone(r: GraphResource, ctx: Context) -> list[Charge]:
    return [Charge("hosted private zone", 1, "private-dns-zone-month")]


def redis_enterprise(r: GraphResource, ctx: Context) -> list[Charge]:
    """Azure Managed Redis bills each node (cache instance) an hour: high availability runs a
    primary and a replica node, without it one node."""
    ha = r.inputs.get("highAvailability") != "Disabled"
    nodes = 2 if ha else 1
    what = "primary and replica (high availability)" if ha else "no replica"
    return [Charge(f"{_sku(r)} node hours x {nodes}: {what}", nodes * H, f"redis-{_sku(r).lower()}-node-hour")]


def postgres_server(r: GraphResource, ctx: Context) -> list[Charge]:
    servers = 2 if (r.inputs.get("highAvailability") or {}).get("mode", "Disabled") != "Disabled" else 1
    storage = float((r.inputs.get("storage") or {}).get("storageSizeGB") or 32)
    return [
        Charge(f"{_sku(r)} compute hours x {servers}", servers * H, f"postgres-{_sku(r).lower()}-hour"),
        Charge(f"storage ({storage:g} GB x {servers})", servers * storage, "postgres-storage-gb-month"),
    ]


def service_bus(r: GraphResource, ctx: Context) -> list[Charge]:
    sku = _sku(r)
    if sku == "Premium":
        units = int((r.inputs.get("sku") or {}).get("capacity") or 1)
        return [Charge(f"messaging units x {units}", units * H, "servicebus-premium-mu-hour")]
    millions, why = ctx.usage(r, "operationsMillions", 3 * ctx.jobs / 1e6, "3 operations per job")
    return [Charge("base hours", H, "servicebus-standard-hour"), Charge("operations", millions, "servicebus-ops", why)]


def container_registry(r: GraphResource, ctx: Context) -> list[Charge]:
    return [Charge(f"{_sku(r)} registry days", H / 24, f"acr-{_sku(r).lower()}-day")]


def log_workspace(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "ingestedGb", ctx.log_gb + ctx.requests * 1_500 / GB, "app logs + 1.5 KB gateway log")
    days = int(r.inputs.get("retentionInDays") or 31)
    retained = gb * max(days - 31, 0) / 30.4  # 31 days are included
    return [
        Charge("logs ingested (analytics)", gb, "log-analytics-ingest-gb", why),
        Charge(f"retention beyond 31 days ({days} days kept)", retained, "log-analytics-retention-gb-month", why),
    ]


def metric_alert(r: GraphResource, ctx: Context) -> list[Charge]:
    series = len(((r.inputs.get("criteria") or {}).get("allOf")) or [1])
    return [Charge(f"monitored time series x {series}", series, "metric-alert-series-month")]


def key_vault(r: GraphResource, ctx: Context) -> list[Charge]:
    operations, why = ctx.usage(r, "operationsTenThousands", 1, "stated default: 10,000 a month")
    return [Charge("secret operations", operations, "keyvault-operations-10k", why)]


def storage_account(r: GraphResource, ctx: Context) -> list[Charge]:
    # the platform's account holds the network flow logs: ~2 flows per request, 300 B each
    gb, why = ctx.usage(r, "storedGb", ctx.requests * 600 / GB * 12, "flow logs, 2 x 300 B a request, kept 365 days")
    return [Charge(f"{_sku(r)} hot blob storage", gb, f"storage-{_sku(r).lower()}-hot-gb-month", why)]


def flow_log(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "collectedGb", ctx.requests * 600 / GB, "2 flows x 300 B a request")
    return [Charge("flow logs collected", gb, "flow-logs-gb", why)]


PRICED = {
    "azure-native:app:ContainerApp": container_app,
    "azure-native:apimanagement:ApiManagementService": api_management,
    "azure-native:network:ApplicationGateway": application_gateway,
    "azure-native:network:NatGateway": nat_gateway,
    "azure-native:network:PublicIPAddress": public_ip,
    "azure-native:network:PrivateEndpoint": private_endpoint,
    "azure-native:privatedns:PrivateZone": private_zone,
    "azure-native:redisenterprise:RedisEnterprise": redis_enterprise,
    "azure-native:dbforpostgresql:Server": postgres_server,
    "azure-native:servicebus:Namespace": service_bus,
    "azure-native:containerregistry:Registry": container_registry,
    "azure-native:operationalinsights:Workspace": log_workspace,
    "azure-native:monitor:MetricAlert": metric_alert,
    "azure-native:keyvault:Vault": key_vault,
    "azure-native:storage:StorageAccount": storage_account,
    "azure-native:network:FlowLog": flow_log,
}

_NO_CHARGE = "no charge of its own"
_APIM = "part of the API Management service"
_ROLE = "role assignments and identities are free"
FREE = {
    "azure-native:apimanagement:Api": _APIM,
    "azure-native:apimanagement:ApiDiagnostic": _APIM,
    "azure-native:apimanagement:ApiOperation": _APIM,
    "azure-native:apimanagement:ApiPolicy": _APIM,
    "azure-native:apimanagement:NamedValue": _APIM,
    "azure-native:apimanagement:Backend": _APIM,
    "azure-native:apimanagement:Logger": _APIM,
    "azure-native:app:ManagedEnvironment": "consumption workload profile: billed on the apps",
    "azure-native:applicationinsights:Component": "workspace-based: billed as the Log Analytics workspace",
    "azure-native:authorization:ManagementLockByScope": _NO_CHARGE,
    "azure-native:authorization:RoleAssignment": _ROLE,
    "azure-native:cognitiveservices:Account": "Azure OpenAI bills tokens: priced in the LLM block (app's price table)",
    "azure-native:cognitiveservices:Deployment": "standard deployments bill tokens: priced in the LLM block",
    "azure-native:consumption:Budget": "budgets are free",
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": "billed on the server",
    "azure-native:dbforpostgresql:Configuration": "billed on the server",
    "azure-native:dbforpostgresql:Database": "billed on the server",
    "azure-native:keyvault:Secret": "billed as the vault's operations",
    "azure-native:managedidentity:UserAssignedIdentity": _ROLE,
    "azure-native:monitor:ActionGroup": "e-mail notifications within the free grant",
    "azure-native:monitor:DiagnosticSetting": "billed as the workspace's ingestion",
    "azure-native:network:NetworkSecurityGroup": _NO_CHARGE,
    "azure-native:network:PrivateDnsZoneGroup": _NO_CHARGE,
    "azure-native:network:Subnet": _NO_CHARGE,
    "azure-native:network:VirtualNetwork": _NO_CHARGE,
    "azure-native:network:WebApplicationFirewallPolicy": "included in the WAF_v2 gateway",
    "azure-native:privatedns:PrivateRecordSet": "billed on the zone",
    "azure-native:privatedns:VirtualNetworkLink": "billed on the zone",
    "azure-native:redisenterprise:AccessPolicyAssignment": "billed on the cluster",
    "azure-native:redisenterprise:Database": "billed on the cluster",
    "azure-native:resources:ResourceGroup": _NO_CHARGE,
    "azure-native:servicebus:Queue": "billed on the namespace",
    "docker-build:index:Image": "built in CI; its storage is billed on the registry",
}

NOT_PRICED = {
    "azure-native:applicationinsights:WebTest": "standard availability tests bill per execution: not in the table",
}
