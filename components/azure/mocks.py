"""Realistic offline answers for azure-native resources and functions (one subscription and tenant).

The location is read the way the real provider reads it, from the ``azure-native:location``
config key, default ``westeurope``. Ids are ARM resource ids; names are the explicit name input
when the program gives one, else an auto-name (the logical name plus a stable suffix), as the
provider does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi.runtime.config import get_config

from components.testing.outputs import stable_suffix

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
TENANT = "00000000-0000-0000-0000-0000000000aa"
DEFAULT_LOCATION = "westeurope"

#: type token -> (ARM provider type path, input holding an explicit name)
_TYPES: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": ("", "resourceGroupName"),
    "azure-native:network:VirtualNetwork": ("Microsoft.Network/virtualNetworks", "virtualNetworkName"),
    "azure-native:network:Subnet": ("Microsoft.Network/virtualNetworks/{vnet}/subnets", "subnetName"),
    "azure-native:network:NetworkSecurityGroup": (
        "Microsoft.Network/networkSecurityGroups",
        "networkSecurityGroupName",
    ),
    "azure-native:network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints", "privateEndpointName"),
    "azure-native:network:PrivateDnsZoneGroup": (
        "Microsoft.Network/privateEndpoints/{endpoint}/privateDnsZoneGroups",
        "privateDnsZoneGroupName",
    ),
    "azure-native:network:PublicIPAddress": ("Microsoft.Network/publicIPAddresses", "publicIpAddressName"),
    "azure-native:network:ApplicationGateway": ("Microsoft.Network/applicationGateways", "applicationGatewayName"),
    "azure-native:network:WebApplicationFirewallPolicy": (
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        "policyName",
    ),
    "azure-native:network:FlowLog": ("Microsoft.Network/networkWatchers/{watcher}/flowLogs", "flowLogName"),
    "azure-native:privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones", "privateZoneName"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "Microsoft.Network/privateDnsZones/{zone}/virtualNetworkLinks",
        "virtualNetworkLinkName",
    ),
    "azure-native:privatedns:PrivateRecordSet": ("Microsoft.Network/privateDnsZones/{zone}/A", "relativeRecordSetName"),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
    ),
    "azure-native:authorization:RoleAssignment": ("Microsoft.Authorization/roleAssignments", "roleAssignmentName"),
    "azure-native:authorization:ManagementLockByScope": ("Microsoft.Authorization/locks", "lockName"),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:keyvault:Secret": ("Microsoft.KeyVault/vaults/{vault}/secrets", "secretName"),
    "azure-native:containerregistry:Registry": ("Microsoft.ContainerRegistry/registries", "registryName"),
    "azure-native:redisenterprise:RedisEnterprise": ("Microsoft.Cache/redisEnterprise", "clusterName"),
    "azure-native:redisenterprise:Database": ("Microsoft.Cache/redisEnterprise/{cluster}/databases", "databaseName"),
    "azure-native:redisenterprise:AccessPolicyAssignment": (
        "Microsoft.Cache/redisEnterprise/{cluster}/databases/default/accessPolicyAssignments",
        "accessPolicyAssignmentName",
    ),
    "azure-native:dbforpostgresql:Server": ("Microsoft.DBforPostgreSQL/flexibleServers", "serverName"),
    "azure-native:dbforpostgresql:Database": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{server}/databases",
        "databaseName",
    ),
    "azure-native:dbforpostgresql:Configuration": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{server}/configurations",
        "configurationName",
    ),
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{server}/administrators",
        "objectId",
    ),
    "azure-native:servicebus:Namespace": ("Microsoft.ServiceBus/namespaces", "namespaceName"),
    "azure-native:servicebus:Queue": ("Microsoft.ServiceBus/namespaces/{namespace}/queues", "queueName"),
    "azure-native:cognitiveservices:Account": ("Microsoft.CognitiveServices/accounts", "accountName"),
    "azure-native:cognitiveservices:Deployment": (
        "Microsoft.CognitiveServices/accounts/{account}/deployments",
        "deploymentName",
    ),
    "azure-native:operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces", "workspaceName"),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:monitor:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName"),
    "azure-native:monitor:MetricAlert": ("Microsoft.Insights/metricAlerts", "ruleName"),
    "azure-native:monitor:DiagnosticSetting": ("Microsoft.Insights/diagnosticSettings", "name"),
    "azure-native:consumption:Budget": ("Microsoft.Consumption/budgets", "budgetName"),
    "azure-native:app:ManagedEnvironment": ("Microsoft.App/managedEnvironments", "environmentName"),
    "azure-native:app:ContainerApp": ("Microsoft.App/containerApps", "containerAppName"),
    "azure-native:apimanagement:ApiManagementService": ("Microsoft.ApiManagement/service", "serviceName"),
    "azure-native:apimanagement:Api": ("Microsoft.ApiManagement/service/{service}/apis", "apiId"),
    "azure-native:apimanagement:ApiOperation": (
        "Microsoft.ApiManagement/service/{service}/apis/{api}/operations",
        "operationId",
    ),
    "azure-native:apimanagement:ApiPolicy": (
        "Microsoft.ApiManagement/service/{service}/apis/{api}/policies",
        "policyId",
    ),
    "azure-native:apimanagement:ApiDiagnostic": (
        "Microsoft.ApiManagement/service/{service}/apis/{api}/diagnostics",
        "diagnosticId",
    ),
    "azure-native:apimanagement:Backend": ("Microsoft.ApiManagement/service/{service}/backends", "backendId"),
    "azure-native:apimanagement:Logger": ("Microsoft.ApiManagement/service/{service}/loggers", "loggerId"),
    "azure-native:apimanagement:NamedValue": ("Microsoft.ApiManagement/service/{service}/namedValues", "namedValueId"),
}

#: child resources' parent names, from the input that names the parent
_PARENTS = {
    "vnet": "virtualNetworkName",
    "endpoint": "privateEndpointName",
    "watcher": "networkWatcherName",
    "zone": "privateZoneName",
    "vault": "vaultName",
    "cluster": "clusterName",
    "server": "serverName",
    "namespace": "namespaceName",
    "account": "accountName",
    "service": "serviceName",
    "api": "apiId",
}


def location() -> str:
    return get_config("azure-native:location") or DEFAULT_LOCATION


def _uuid(*parts: str) -> str:
    s = stable_suffix(*parts, length=32)
    return f"{s[:8]}-{s[8:12]}-4{s[13:16]}-8{s[17:20]}-{s[20:32]}"


def _physical_name(type_token: str, name: str, inputs: dict[str, Any]) -> str:
    given = inputs.get(_TYPES.get(type_token, ("", "name"))[1])
    if isinstance(given, str) and given:
        return given
    if type_token == "azure-native:authorization:RoleAssignment":
        return _uuid(type_token, name)
    suffix = stable_suffix(type_token, name)
    if type_token in ("azure-native:storage:StorageAccount", "azure-native:containerregistry:Registry"):
        return (name.replace("-", "")[:16] + suffix).lower()
    return f"{name}{suffix}"


def resource_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = _physical_name(type_token, name, inputs)
    path, _ = _TYPES.get(type_token, ("Microsoft.Unknown/" + type_token.rsplit(":", 1)[-1], "name"))
    parents = {key: str(inputs.get(source, key)) for key, source in _PARENTS.items()}
    group = inputs.get("resourceGroupName", "rg")
    if type_token == "azure-native:resources:ResourceGroup":
        resource_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{physical}"
    elif type_token in (
        "azure-native:authorization:RoleAssignment",
        "azure-native:authorization:ManagementLockByScope",
    ):
        resource_id = f"{inputs.get('scope', '')}/providers/{path}/{physical}"
    elif type_token == "azure-native:monitor:DiagnosticSetting":
        resource_id = f"{inputs.get('resourceUri', '')}/providers/{path}/{physical}"
    elif type_token == "azure-native:consumption:Budget":
        resource_id = f"{inputs.get('scope', '')}/providers/{path}/{physical}"
    else:
        resource_id = (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{path.format(**parents)}/{physical}"
        )
    computed: dict[str, Any] = {"name": physical, "id": resource_id, "location": inputs.get("location", location())}
    identity = inputs.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        # the provider takes a list of identity ids and answers a map id -> identity details
        computed["identity"] = {
            **identity,
            "userAssignedIdentities": {
                i: {"principalId": _uuid("principal", i), "clientId": _uuid("client", i)}
                for i in identity["userAssignedIdentities"]
            },
        }
    elif isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type")):
        computed["identity"] = {**identity, "principalId": _uuid("principal", resource_id), "tenantId": TENANT}
    extra = _EXTRA.get(type_token)
    if extra is not None:
        computed.update(extra(physical, inputs))
    return resource_id, computed


def _container_app(physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    configuration = dict(inputs.get("configuration") or {})
    ingress = dict(configuration.get("ingress") or {})
    domain = f"{stable_suffix(physical, length=10)}.{location()}.azurecontainerapps.io"
    ingress["fqdn"] = f"{physical}.{domain}"
    configuration["ingress"] = ingress
    return {"configuration": configuration, "latestRevisionFqdn": f"{physical}--0000001.{domain}"}


_EXTRA: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "azure-native:managedidentity:UserAssignedIdentity": lambda n, i: {
        "principalId": _uuid("principal", n),
        "clientId": _uuid("client", n),
        "tenantId": TENANT,
    },
    "azure-native:keyvault:Vault": lambda n, i: {
        "properties": {**(i.get("properties") or {}), "vaultUri": f"https://{n}.vault.azure.net/"}
    },
    "azure-native:containerregistry:Registry": lambda n, i: {"loginServer": f"{n.lower()}.azurecr.io"},
    "azure-native:redisenterprise:RedisEnterprise": lambda n, i: {"hostName": f"{n}.{location()}.redis.azure.net"},
    "azure-native:dbforpostgresql:Server": lambda n, i: {
        "fullyQualifiedDomainName": f"{n}.postgres.database.azure.com"
    },
    "azure-native:servicebus:Namespace": lambda n, i: {
        "serviceBusEndpoint": f"https://{n}.servicebus.windows.net:443/"
    },
    "azure-native:operationalinsights:Workspace": lambda n, i: {"customerId": _uuid("workspace", n)},
    "azure-native:applicationinsights:Component": lambda n, i: {
        "connectionString": f"InstrumentationKey={_uuid('ikey', n)};"
        f"IngestionEndpoint=https://{location()}-5.in.applicationinsights.azure.com/",
        "instrumentationKey": _uuid("ikey", n),
    },
    "azure-native:app:ManagedEnvironment": lambda n, i: {
        "defaultDomain": f"{stable_suffix(n, length=10)}.{location()}.azurecontainerapps.io",
        "staticIp": "10.0.2.250",
    },
    "azure-native:app:ContainerApp": _container_app,
    "azure-native:apimanagement:ApiManagementService": lambda n, i: {
        "privateIPAddresses": ["10.0.1.4"],
        "gatewayUrl": f"https://{n}.azure-api.net",
    },
    "azure-native:network:PublicIPAddress": lambda n, i: {"ipAddress": "20.0.0.10"},
}


def _client_config(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "clientId": _uuid("deployer"),
        "objectId": _uuid("deployer-object"),
        "subscriptionId": SUBSCRIPTION,
        "tenantId": TENANT,
    }


_CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "azure-native:authorization:getClientConfig": _client_config,
}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    answer = _CALLS.get(token)
    if answer is None:
        raise NotImplementedError(f"no offline answer for the azure-native function {token}; add one to {__name__}")
    return answer(args)


def planned_app_settings(graph: Any) -> tuple[dict[str, str], list[str], int]:
    """What the planned graph hands the app (for the app-contract test that runs on every target):
    the plain environment, the names of the variables injected from Key Vault, and the port."""
    (app,) = [r for r in graph.of_type("azure-native:app:ContainerApp")]
    (container,) = app.inputs["template"]["containers"]
    environment = {item["name"]: item["value"] for item in container["env"] if "value" in item}
    secrets = [item["name"] for item in container["env"] if "secretRef" in item]
    return environment, secrets, app.inputs["configuration"]["ingress"]["targetPort"]
